// Object ids exactly as `git hash-object` computes them: SHA-1 over `<type> <size>\0` + content.
// See https://git-scm.com/book/en/v2/Git-Internals-Git-Objects.
import { createHash } from 'node:crypto';
import { MedoError } from './errors.js';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export const OID_BYTES = 20;
export const OID_HEX = 40;

/** True for 40 lowercase hex digits. A loop, not a regular expression: batch reads check every id twice. */
export function isOid(s: string): boolean {
  if (s.length !== OID_HEX) return false;
  for (let i = 0; i < OID_HEX; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

export function assertOid(s: string): string {
  if (!isOid(s)) throw new MedoError('ERR_BAD_OID', `not an object id (40 lowercase hex digits): ${JSON.stringify(s)}`);
  return s;
}

export function oidToBytes(hex: string): Buffer {
  return Buffer.from(assertOid(hex), 'hex');
}

export function oidFromBytes(buf: Uint8Array, offset = 0): string {
  if (offset + OID_BYTES > buf.length) throw new MedoError('ERR_BAD_OID', 'object id runs past the end of its buffer');
  return Buffer.from(buf.buffer, buf.byteOffset + offset, OID_BYTES).toString('hex');
}

export function objectHeader(type: ObjectType, size: number): Buffer {
  return Buffer.from(`${type} ${size}\0`, 'latin1');
}

export function hashObject(type: ObjectType, content: Uint8Array): string {
  return createHash('sha1').update(objectHeader(type, content.length)).update(content).digest('hex');
}

export const OBJECT_TYPES: readonly ObjectType[] = ['blob', 'tree', 'commit', 'tag'];

export function parseObjectType(s: string): ObjectType | undefined {
  return (OBJECT_TYPES as readonly string[]).includes(s) ? (s as ObjectType) : undefined;
}
