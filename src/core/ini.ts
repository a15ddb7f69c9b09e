// A strict parser for systemd-style INI text ("[Section]" and "Key=Value" lines, "#"/";" comments).

import { DiycloudError } from './errors';

export type IniDocument = Record<string, Record<string, string>>;

/** Parses INI text. Duplicate keys, keys outside a section and malformed lines are errors naming the line. */
export function parseIni(text: string, source = 'config'): IniDocument {
  const doc: IniDocument = {};
  let section: string | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const where = `${source}:${i + 1}`;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[([A-Za-z][A-Za-z0-9]*)\]$/.exec(line);
    if (sec) {
      section = sec[1];
      if (doc[section]) throw new DiycloudError('InvalidArgument', `${where}: section [${section}] appears twice`);
      doc[section] = {};
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(line);
    if (!kv) throw new DiycloudError('InvalidArgument', `${where}: expected "Key=Value" or "[Section]", got "${line.slice(0, 60)}"`);
    if (section === null) throw new DiycloudError('InvalidArgument', `${where}: "${kv[1]}" must be inside a [Section]`);
    if (Object.prototype.hasOwnProperty.call(doc[section], kv[1])) {
      throw new DiycloudError('InvalidArgument', `${where}: [${section}] ${kv[1]} is set twice`);
    }
    doc[section][kv[1]] = kv[2];
  }
  return doc;
}

/** Reads UID_MIN and UID_MAX from /etc/login.defs text; missing values give the shadow-utils defaults. */
export function parseLoginDefs(text: string): { uidMin: number; uidMax: number } {
  const get = (key: string, dflt: number): number => {
    const m = new RegExp(`^\\s*${key}\\s+([0-9]+)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) : dflt;
  };
  return { uidMin: get('UID_MIN', 1000), uidMax: get('UID_MAX', 60000) };
}
