// A valid pack index v2 of `count` random ids, for timing PackIndex.open and lookups at sizes no test
// repository reaches. There is no pack behind it: the pack checksum is the SHA-1 of a label, the index
// checksum is the real SHA-1 of everything above it, and `git show-index` must read it back.
// Layout: https://git-scm.com/docs/gitformat-pack, "Version 2 pack-*.idx files".
// Run as a script (`synthetic-idx.mjs PATH COUNT`) it prints the probe as JSON: object-layer.mjs makes
// the index in a child process so that its own memory, which every probe process forks from, stays small.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OID_HEX = 40;
const IDX_HEADER = Buffer.from([0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2]);
const AVERAGE_ENTRY_BYTES = 300; // spacing of the made-up pack offsets

function sortedRandomIds(count) {
  const hex = randomBytes(20 * count).toString('hex');
  const ids = new Array(count);
  for (let i = 0; i < count; i++) ids[i] = hex.slice(i * OID_HEX, (i + 1) * OID_HEX);
  ids.sort(); // lowercase hex: string order is byte order
  for (let i = 1; i < count; i++) if (ids[i] === ids[i - 1]) throw new Error('duplicate random id; run again');
  return ids;
}

function contains(ids, id) {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] === id) return true;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

function encode(ids) {
  const n = ids.length;
  const fanout = Buffer.alloc(256 * 4);
  for (let b = 0, i = 0; b < 256; b++) {
    while (i < n && parseInt(ids[i].slice(0, 2), 16) <= b) i++;
    fanout.writeUInt32BE(i, b * 4);
  }
  const oids = Buffer.from(ids.join(''), 'hex');
  const crcs = randomBytes(4 * n);
  // Real packs store entries in an order unrelated to their ids: offsets are a shuffled progression.
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const offsets = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) offsets.writeUInt32BE(12 + order[i] * AVERAGE_ENTRY_BYTES, i * 4);
  const packChecksum = createHash('sha1').update(`synthetic pack of ${n} objects`).digest();
  const body = Buffer.concat([IDX_HEADER, fanout, oids, crcs, offsets, packChecksum]);
  return { bytes: Buffer.concat([body, createHash('sha1').update(body).digest()]), offsets };
}

/**
 * Writes (or reuses) `path`, an index of `count` ids; returns the probe: an id it holds with that id's
 * offset, and an id it does not hold. The probe is kept beside the index as `path.json`.
 */
export function syntheticIdx(path, count) {
  const probePath = `${path}.json`;
  if (existsSync(path) && existsSync(probePath)) {
    const probe = JSON.parse(readFileSync(probePath, 'utf8'));
    if (probe.count === count) return probe;
  }
  const ids = sortedRandomIds(count);
  const { bytes, offsets } = encode(ids);
  const at = randomInt(count);
  let absent;
  do absent = randomBytes(20).toString('hex');
  while (contains(ids, absent));
  const probe = { count, present: ids[at], presentOffset: offsets.readUInt32BE(at * 4), absent };

  // git is the oracle for the format: it must list every entry, and list ours where we put it.
  const listing = execFileSync('git', ['show-index'], { input: bytes, maxBuffer: 1 << 30 }).toString('latin1');
  const lines = listing.split('\n').filter(Boolean);
  if (lines.length !== count) throw new Error(`git show-index read ${lines.length} entries of ${count} from ${path}`);
  if (!lines[at].startsWith(`${probe.presentOffset} ${probe.present} `)) {
    throw new Error(`git show-index disagrees on entry ${at} of ${path}: ${lines[at]}`);
  }
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
  writeFileSync(probePath, `${JSON.stringify(probe)}\n`);
  return probe;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [path, count] = process.argv.slice(2);
  process.stdout.write(`${JSON.stringify(syntheticIdx(path, Number(count)))}\n`);
}
