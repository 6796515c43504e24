// Full check of one pack, what `git verify-pack` does: both trailers, the index's order, every entry's
// CRC32 over its raw bytes, and every object re-hashed against its id.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { RandomAccess } from '../io/random-access.js';
import { OID_BYTES, hashObject, oidFromBytes } from '../oid.js';
import type { BaseResolver, PackFile } from './pack-file.js';

export interface Problem {
  path: string;
  oid?: string;
  offset?: number;
  message: string;
}

const CHUNK = 1 << 20;

/** SHA-1 of the file's bytes before its 20-byte trailer equals the trailer. */
export function trailerMatches(src: RandomAccess): boolean {
  const end = src.size - OID_BYTES;
  const hash = createHash('sha1');
  for (let pos = 0; pos < end; pos += CHUNK) hash.update(src.read(pos, Math.min(CHUNK, end - pos)));
  return hash.digest().equals(src.read(end, OID_BYTES));
}

/** `external` resolves REF_DELTA bases held outside this pack (a silo's other packs, for a thin pack). */
export function verifyPack(pack: PackFile, onObject?: () => void, external?: BaseResolver): { objects: number; problems: Problem[] } {
  const problems: Problem[] = [];
  const idx = pack.index;
  const say = (message: string, extra: Partial<Problem> = {}, path = pack.path): void => {
    problems.push({ path, message, ...extra });
  };
  if (!trailerMatches(pack.pack)) say('pack checksum does not match its contents');
  if (!trailerMatches(idx.src)) say('index checksum does not match its contents', {}, idx.src.path);

  const n = idx.count;
  const byOffset: { i: number; offset: number }[] = [];
  let previous: Buffer | undefined;
  for (let i = 0; i < n; i++) {
    const oid = Buffer.from(idx.oidAt(i));
    if (previous !== undefined && previous.compare(oid) >= 0) {
      say(`index entry ${i} is out of order or repeated`, { oid: oid.toString('hex') }, idx.src.path);
    }
    previous = oid;
    try {
      byOffset.push({ i, offset: idx.offsetAt(i) });
    } catch (e) {
      say((e as Error).message, { oid: oid.toString('hex') }, idx.src.path);
    }
  }
  byOffset.sort((a, b) => a.offset - b.offset);
  const dataEnd = pack.pack.size - OID_BYTES;
  for (let k = 0; k < byOffset.length; k++) {
    const { i, offset } = byOffset[k]!;
    const oid = oidFromBytes(idx.oidAt(i));
    const next = k + 1 < byOffset.length ? byOffset[k + 1]!.offset : dataEnd;
    if (k === 0 && offset !== 12) say(`first entry starts at ${offset}, not right after the header`, { oid, offset });
    if (next <= offset || next > dataEnd) {
      say(`entry at ${offset} overlaps the next or runs past the end`, { oid, offset });
      continue;
    }
    if ((crc32(pack.pack.read(offset, next - offset)) >>> 0) !== idx.crc32At(i)) {
      say('CRC32 of the packed entry does not match the index', { oid, offset });
    }
    try {
      const o = pack.readAt(offset, external);
      const actual = hashObject(o.type, o.content);
      if (actual !== oid) say(`content hashes to ${actual}`, { oid, offset });
    } catch (e) {
      say((e as Error).message, { oid, offset });
    }
    onObject?.();
  }
  return { objects: n, problems };
}
