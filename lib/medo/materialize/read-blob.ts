// Blob reads for expand and verify: a missing object is an error naming it and the path that needs it.
import { MedoError } from '../../errors.js';
import type { ObjectStore } from '../../store.js';

export function readBlob(store: ObjectStore, oid: string, path: string): Buffer {
  const o = store.read(oid);
  if (o === undefined) {
    throw new MedoError('ERR_OBJECT_MISSING', `blob ${oid} (${path === '' ? 'the target itself' : path}) is not in ${store.path}`, { oid, path });
  }
  if (o.type !== 'blob') throw new MedoError('ERR_OBJECT_CORRUPT', `${oid} (${path}) is a ${o.type}, expected a blob`, { oid, path });
  return o.content;
}

/** Throws ERR_OBJECT_MISSING unless the store holds `oid` (verify needs no content, only the proof it is there). */
export function assertHas(store: ObjectStore, oid: string, path: string): void {
  if (!store.has(oid)) {
    throw new MedoError('ERR_OBJECT_MISSING', `blob ${oid} (${path === '' ? 'the target itself' : path}) is not in ${store.path}`, { oid, path });
  }
}
