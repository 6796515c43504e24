// Hand-built tar archives for the cases real `tar` will not write: hostile names, lying sizes, bad
// checksums, truncation. Headers are POSIX ustar with a correct checksum unless told otherwise.

export interface HeaderSpec {
  name: string | Buffer;
  size?: number;
  /** Size field bytes, overriding `size` (e.g. GNU base-256 for a 100 GB claim). */
  sizeField?: Buffer;
  type?: string;
  mode?: number;
  mtime?: number;
  linkname?: string;
  /** Added to the computed checksum (non-zero makes it wrong). */
  checksumDelta?: number;
  magic?: 'ustar' | 'gnu' | 'v7';
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

export function tarHeader(spec: HeaderSpec): Buffer {
  const b = Buffer.alloc(512);
  const name = typeof spec.name === 'string' ? Buffer.from(spec.name, 'utf8') : spec.name;
  if (name.length > 100) throw new Error('tarHeader: name over 100 bytes (use pax or GNU L)');
  name.copy(b, 0);
  b.write(octal(spec.mode ?? 0o644, 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  if (spec.sizeField !== undefined) spec.sizeField.copy(b, 124);
  else b.write(octal(spec.size ?? 0, 12), 124, 'latin1');
  b.write(octal(spec.mtime ?? 1700000000, 12), 136, 'latin1');
  b.write(spec.type ?? '0', 156, 'latin1');
  if (spec.linkname !== undefined) b.write(spec.linkname, 157, 'utf8');
  const magic = spec.magic ?? 'ustar';
  if (magic === 'ustar') b.write('ustar\u000000', 257, 'latin1');
  else if (magic === 'gnu') b.write('ustar  \u0000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(`${(sum + (spec.checksumDelta ?? 0)).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function pad(data: Buffer): Buffer {
  const r = data.length % 512;
  return r === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - r)]);
}

/** A header followed by its data, padded to a block. */
export function tarEntry(spec: HeaderSpec, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([tarHeader({ size: body.length, ...spec }), pad(body)]);
}

/** A pax 'x' header carrying `records` for the next entry. */
export function paxEntry(records: Record<string, string>, type = 'x'): Buffer {
  let text = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
    text += `${len}${body}`;
  }
  return tarEntry({ name: 'PaxHeaders/x', type }, text);
}

export const END = Buffer.alloc(1024);

/** GNU base-256 encoding of `n` in a 12-byte numeric field. */
export function base256(n: bigint): Buffer {
  const b = Buffer.alloc(12);
  let v = n;
  for (let i = 11; i >= 1; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[0] = 0x80;
  return b;
}
