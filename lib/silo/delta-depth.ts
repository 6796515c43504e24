// How deep an object already sits in delta chains, from entry headers alone (no inflating): 0 for a whole
// object or a loose one, 1 + its base's depth for a delta, following REF_DELTAs into other packs of the
// silo. Writers that add deltas against objects of other packs (medo add with a delta base) use it to
// keep chains within git's depth limit.
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, type EntryHeader } from '../git/pack-entry.js';
import type { ObjectDir } from '../object-dir.js';

/** The depth of `oid` in `store`, or undefined when it is missing or deeper than `limit`. */
export function deltaDepth(store: ObjectDir, oid: string, limit: number): number | undefined {
  let hit = store.packs.find(Buffer.from(oid, 'hex'));
  if (hit === undefined) return store.has(oid) ? 0 : undefined;
  let depth = 0;
  for (;;) {
    const h: EntryHeader = hit.pack.entryHeader(hit.offset, true);
    if (h.typeCode !== OBJ_OFS_DELTA && h.typeCode !== OBJ_REF_DELTA) return depth;
    if (++depth > limit) return undefined;
    if (h.typeCode === OBJ_OFS_DELTA) {
      hit = { pack: hit.pack, offset: h.baseOffset! };
      continue;
    }
    const inPack = hit.pack.find(h.baseOid!);
    if (inPack !== undefined) hit = { pack: hit.pack, offset: inPack };
    else {
      const elsewhere = store.packs.find(h.baseOid!);
      if (elsewhere === undefined) return depth; // a loose base: whole
      hit = elsewhere;
    }
  }
}
