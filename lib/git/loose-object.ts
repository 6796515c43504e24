// Git's loose objects: `objects/xx/<38 hex>`, zlib of `<type> <size>\0` + content.
// https://git-scm.com/book/en/v2/Git-Internals-Git-Objects
import { constants as zlibConstants, deflateSync, inflateSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { objectHeader, parseObjectType, type ObjectType } from '../oid.js';
import type { RawObject } from './pack-file.js';

// A header is at most 32 bytes, and deflate emits its first output within a few hundred bytes of input
// (a dynamic Huffman table takes under 300), so this much input yields the header and inflates to at
// most ~4 MiB.
const HEADER_INPUT_BYTES = 4096;

export function parseLooseObject(compressed: Buffer, maxSize: number, where: string): RawObject {
  const fail = (why: string, cause?: unknown): never => {
    throw new MedoError('ERR_OBJECT_CORRUPT', `${where}: ${why}`, { path: where }, { cause });
  };
  // Inflate a prefix first, so the full inflate below is bounded by the size the header declares, as in
  // git's unpack_loose_header: a small file that inflates to gigabytes fails at its declared size.
  let head: Buffer;
  try {
    head = inflateSync(compressed.subarray(0, HEADER_INPUT_BYTES), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch (e) {
    head = fail(`bad zlib data (${(e as Error).message})`, e);
  }
  const nul = head.indexOf(0);
  if (nul < 0 || nul > 32) fail('no object header');
  const header = head.toString('latin1', 0, nul);
  const m = /^([a-z]+) (0|[1-9][0-9]*)$/.exec(header);
  const type = m ? parseObjectType(m[1]!) : undefined;
  if (!m || type === undefined) fail(`bad object header ${JSON.stringify(header)}`);
  const size = Number(m![2]);
  if (size > maxSize) {
    throw new MedoError('ERR_TOO_LARGE', `${where}: object of ${size} bytes exceeds the limit of ${maxSize}`, { path: where });
  }
  let raw: Buffer;
  try {
    raw = inflateSync(compressed, { maxOutputLength: nul + 1 + size });
  } catch (e) {
    const code = (e as { code?: string }).code;
    raw = fail(code === 'ERR_BUFFER_TOO_LARGE' ? `inflates past its declared ${size} bytes` : `bad zlib data (${(e as Error).message})`, e);
  }
  if (raw.length - nul - 1 !== size) fail(`header says ${size} bytes, content has ${raw.length - nul - 1}`);
  return { type: type!, content: raw.subarray(nul + 1) };
}

export function encodeLooseObject(type: ObjectType, content: Uint8Array): Buffer {
  return deflateSync(Buffer.concat([objectHeader(type, content.length), content]));
}
