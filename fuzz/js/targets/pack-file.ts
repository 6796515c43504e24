// Whole packs (lib/git/pack-file.ts through lib/git/unindexed-pack.ts, which indexes a pack as
// `git index-pack` does): every entry is read with its delta chain resolved. The input's SHA-1 trailer is
// recomputed first, or nearly every mutation would stop at the checksum. A whole object must read back
// with the id the indexer hashed, by offset and by id; everything else is a MedoError of the kinds below.
import { createHash } from 'node:crypto';
import { openUnindexedPack } from '../../../lib/git/unindexed-pack.js';
import { hashObject, oidToBytes } from '../../../lib/oid.js';
import { check, isRefusal, outcome, target } from '../harness.js';

const LIMITS = { maxObjectSize: 4 << 20, maxChainLength: 50 };
const CODES = ['ERR_PACK_CORRUPT', 'ERR_TOO_LARGE', 'ERR_OBJECT_MISSING'] as const;

export const fuzz = target((data) => {
  const pack = Buffer.from(data);
  if (pack.length >= 32) createHash('sha1').update(pack.subarray(0, pack.length - 20)).digest().copy(pack, pack.length - 20);
  const opened = outcome(() => openUnindexedPack(pack, 'fuzz.pack', { limits: LIMITS, baseCacheBytes: 1 << 20 }), CODES);
  if (isRefusal(opened)) return;
  const { file, offsets, whole } = opened;
  check(file.objectCount === offsets.length, 'object count');
  for (const offset of offsets) {
    const obj = outcome(() => file.readAt(offset, () => undefined), CODES);
    if (isRefusal(obj)) {
      check(!whole.has(offset) || obj.code === 'ERR_TOO_LARGE', `whole entry at ${offset} indexed but unreadable (${obj.code})`);
      continue;
    }
    check(obj.content.length <= LIMITS.maxObjectSize, `object of ${obj.content.length} bytes over the limit`);
    const w = whole.get(offset);
    if (w === undefined) continue;
    check(obj.type === w.type && hashObject(obj.type, obj.content) === w.oid, `entry at ${offset} reads as other bytes than were indexed`);
    const byId = file.read(oidToBytes(w.oid));
    check(byId !== undefined && byId.content.equals(obj.content), `entry at ${offset} reads otherwise by id`);
  }
});
