// pax extended header records (typeflag 'x' for the next entry, 'g' global), parsed from a Buffer.
// Each record is "<length> <key>=<value>\n" where <length> counts the whole record in bytes, itself
// included; keys and values are UTF-8.
// https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_03
import { MedoError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface PaxTime {
  sec: number;
  nsec: number;
}

/** Parses every record; a later record for the same key wins, as in the standard. */
export function parsePaxRecords(data: Buffer, offset: number): Map<string, string> {
  const fail = (why: string): never => {
    throw new MedoError('ERR_TAR_CORRUPT', `pax header at offset ${offset}: ${why}`, { offset });
  };
  const out = new Map<string, string>();
  let i = 0;
  // Writers pad the data with NULs up to its declared size in some versions; stop at the first.
  while (i < data.length && data[i] !== 0) {
    const space = data.indexOf(0x20, i);
    if (space < 0 || space - i > 20) fail(`record at byte ${i} has no length`);
    const lenText = data.toString('latin1', i, space);
    if (!/^[1-9][0-9]*$/.test(lenText)) fail(`record at byte ${i} has a bad length ${JSON.stringify(lenText)}`);
    const len = Number(lenText);
    const end = i + len;
    if (end > data.length || end <= space + 1) fail(`record at byte ${i} runs past the header`);
    if (data[end - 1] !== 0x0a) fail(`record at byte ${i} does not end with a newline`);
    const body = data.subarray(space + 1, end - 1);
    const eq = body.indexOf(0x3d);
    if (eq <= 0) fail(`record at byte ${i} has no key`);
    let key: string;
    let value: string;
    try {
      key = utf8.decode(body.subarray(0, eq));
      value = utf8.decode(body.subarray(eq + 1));
    } catch {
      throw new MedoError('ERR_NAME_ENCODING', `pax header at offset ${offset}: record at byte ${i} is not valid UTF-8`, { offset });
    }
    out.set(key, value);
    i = end;
  }
  return out;
}

/** A pax decimal size: digits only, within Number.MAX_SAFE_INTEGER. */
export function parsePaxSize(value: string, offset: number): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new MedoError('ERR_TAR_CORRUPT', `pax header at offset ${offset}: bad size ${JSON.stringify(value)}`, { offset });
  }
  return n;
}

/** A pax time: decimal seconds with an optional fraction ("1700000000.123456789", "-1.5"). */
export function parsePaxTime(value: string, offset: number): PaxTime {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(value);
  const whole = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isSafeInteger(whole)) {
    throw new MedoError('ERR_TAR_CORRUPT', `pax header at offset ${offset}: bad time ${JSON.stringify(value)}`, { offset });
  }
  const nsec = Number((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  if (m[1] !== '-') return { sec: whole, nsec };
  // -1.5 s is 2 s before the epoch plus 0.5 s.
  return nsec === 0 ? { sec: whole === 0 ? 0 : -whole, nsec: 0 } : { sec: -whole - 1, nsec: 1_000_000_000 - nsec };
}
