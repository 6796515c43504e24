// Git's loose objects: `objects/xx/<38 hex>`, zlib of `<type> <size>\0` + content.
// https://git-scm.com/book/en/v2/Git-Internals-Git-Objects
import { deflateSync, inflateSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { objectHeader, parseObjectType, type ObjectType } from '../oid.js';
import type { RawObject } from './pack-file.js';

export function parseLooseObject(compressed: Buffer, maxSize: number, where: string): RawObject {
  const fail = (why: string, cause?: unknown): never => {
    throw new MedoError('ERR_OBJECT_CORRUPT', `${where}: ${why}`, { path: where }, { cause });
  };
  let raw: Buffer;
  try {
    raw = inflateSync(compressed, { maxOutputLength: Math.min(maxSize + 32, compressed.length * 1032 + 64) });
  } catch (e) {
    raw = fail(`bad zlib data or over the size limit (${(e as Error).message})`, e);
  }
  const nul = raw.indexOf(0);
  if (nul < 0 || nul > 32) fail('no object header');
  const header = raw.toString('latin1', 0, nul);
  const m = /^([a-z]+) (0|[1-9][0-9]*)$/.exec(header);
  const type = m ? parseObjectType(m[1]!) : undefined;
  if (!m || type === undefined) fail(`bad object header ${JSON.stringify(header)}`);
  const size = Number(m![2]);
  if (raw.length - nul - 1 !== size) fail(`header says ${size} bytes, content has ${raw.length - nul - 1}`);
  return { type: type!, content: raw.subarray(nul + 1) };
}

export function encodeLooseObject(type: ObjectType, content: Uint8Array): Buffer {
  return deflateSync(Buffer.concat([objectHeader(type, content.length), content]));
}
