// Path quoting as git prints paths with core.quotePath=true (the default): git's quote_c_style.
// A name needs quoting when it holds '"', '\\', a control byte or any byte >= 0x80; it is then wrapped
// in double quotes with C escapes and octal for the rest.

const NAMED: Record<number, string> = { 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r', 0x22: '"', 0x5c: '\\' };

function needsQuote(c: number): boolean {
  return c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f;
}

export function quotePath(name: string): string {
  return quoteBytes(Buffer.from(name, 'utf8'));
}

/** quotePath for a name given as raw bytes, such as one that is not valid UTF-8. */
export function quoteBytes(bytes: Uint8Array): string {
  if (!bytes.some(needsQuote)) return Buffer.from(bytes).toString('utf8');
  let out = '"';
  for (const c of bytes) {
    if (!needsQuote(c)) out += String.fromCharCode(c);
    else if (NAMED[c] !== undefined) out += `\\${NAMED[c]}`;
    else out += `\\${c.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}
