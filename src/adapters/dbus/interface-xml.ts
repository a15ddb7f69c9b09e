// Reads the interface XML (the contract) and lists its methods and properties with signatures.

export interface XmlMethod {
  readonly iface: string;
  readonly name: string;
  readonly inSig: string;
  readonly outSig: string;
}

export interface XmlProperty {
  readonly iface: string;
  readonly name: string;
  readonly type: string;
  readonly access: string;
}

/** A small parser for introspection XML as we write it (one element per tag, attributes in double quotes). */
export function parseInterfaceXml(xml: string): { methods: XmlMethod[]; properties: XmlProperty[] } {
  const methods: XmlMethod[] = [];
  const properties: XmlProperty[] = [];
  const body = xml.replace(/<!--[\s\S]*?-->/g, '');
  for (const im of body.matchAll(/<interface name="([^"]+)">([\s\S]*?)<\/interface>/g)) {
    const iface = im[1];
    for (const mm of im[2].matchAll(/<method name="([^"]+)"\s*(?:\/>|>([\s\S]*?)<\/method>)/g)) {
      let inSig = '';
      let outSig = '';
      for (const am of (mm[2] ?? '').matchAll(/<arg\b([^>]*)\/>/g)) {
        const type = /type="([^"]+)"/.exec(am[1])?.[1] ?? '';
        if (/direction="out"/.test(am[1])) outSig += type;
        else inSig += type;
      }
      methods.push({ iface, name: mm[1], inSig, outSig });
    }
    for (const pm of im[2].matchAll(/<property name="([^"]+)" type="([^"]+)" access="([^"]+)"/g)) {
      properties.push({ iface, name: pm[1], type: pm[2], access: pm[3] });
    }
  }
  return { methods, properties };
}
