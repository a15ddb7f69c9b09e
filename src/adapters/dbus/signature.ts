// D-Bus signatures split into their complete types ("sa{sv}as" -> ["s", "a{sv}", "as"]).

/** The complete types of a signature, in order; throws on a malformed one. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  const one = (): void => {
    const c = sig[i++];
    if (c === undefined) throw new Error(`signature ${sig} ends inside a type`);
    if (c === 'a') return one();
    if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      while (sig[i] !== close) {
        if (i >= sig.length) throw new Error(`signature ${sig}: unclosed ${c}`);
        one();
      }
      i++;
      return;
    }
    if (!'ybnqiuxtdsogvh'.includes(c)) throw new Error(`signature ${sig}: unknown type code ${c}`);
  };
  while (i < sig.length) {
    const start = i;
    one();
    out.push(sig.slice(start, i));
  }
  return out;
}
