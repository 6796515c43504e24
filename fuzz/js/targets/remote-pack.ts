// A remote silo's pack read with Range requests (lib/remote/remote-pack.ts): each entry's bounds come
// from the sorted offsets of its .idx, and its bytes from a server that may send fewer or more than
// asked, or nothing. Input: u32 LE length of the .idx, the .idx, the .pack, then one byte saying how the
// server misbehaves. Every read is an object, undefined, or a MedoError; when the server behaves and the
// pack also opens locally (lib/git/pack-file.ts), both readers must agree on every object both can read,
// and readMany on every object it returns.
import type { RawObject } from '../../../lib/git/pack-file.js';
import { PackFile } from '../../../lib/git/pack-file.js';
import { PackIndex } from '../../../lib/git/pack-idx.js';
import { BufferSource } from '../../../lib/io/random-access.js';
import { oidFromBytes } from '../../../lib/oid.js';
import type { HttpClient, GetOptions } from '../../../lib/remote/http.js';
import { RemotePack } from '../../../lib/remote/remote-pack.js';
import { asyncTarget, Bytes, check, isRefusal, outcome, outcomeAsync } from '../harness.js';

const LIMITS = { maxObjectSize: 4 << 20, maxChainLength: 50 };
const CODES = ['ERR_PACK_CORRUPT', 'ERR_TOO_LARGE', 'ERR_OBJECT_MISSING', 'ERR_REMOTE'] as const;
const MAX_OBJECTS = 64;

/** An HttpClient stand-in serving `pack`; `mode` 0 behaves, 1 sends a byte short, 2 a byte more, 3 answers 404. */
function server(pack: Buffer, mode: number): HttpClient {
  const get = async (_url: string, options: GetOptions = {}): Promise<Buffer | undefined> => {
    if (mode === 3) return undefined;
    const start = options.range?.start ?? 0;
    const end = options.range?.end === undefined ? pack.length : options.range.end + 1;
    const body = pack.subarray(Math.min(start, pack.length), Math.min(end, pack.length));
    return mode === 1 ? body.subarray(0, Math.max(0, body.length - 1)) : mode === 2 ? Buffer.concat([body, Buffer.of(0)]) : body;
  };
  return { get } as unknown as HttpClient;
}

export const fuzz = asyncTarget(async (data) => {
  const b = new Bytes(data);
  const idxBytes = b.take(b.u32());
  const rest = b.rest();
  const pack = rest.subarray(0, Math.max(0, rest.length - 1));
  const mode = (rest[rest.length - 1] ?? 0) % 4;
  const index = outcome(() => PackIndex.open(new BufferSource(idxBytes, 'fuzz.idx')), ['ERR_PACK_CORRUPT']);
  if (isRefusal(index)) return;
  const remote = new RemotePack('http://fuzz/pack.pack', index, pack.length, server(pack, mode), {
    ...LIMITS, resolveExternal: async () => undefined,
  });
  const local = mode === 0 ? outcome(() => new PackFile(index, new BufferSource(pack, 'fuzz.pack'), { limits: LIMITS, baseCacheBytes: 1 << 20 }), ['ERR_PACK_CORRUPT']) : undefined;
  const oids: Buffer[] = [];
  for (let i = 0; i < Math.min(index.count, MAX_OBJECTS); i++) oids.push(Buffer.from(index.oidAt(i)));
  const read = new Map<string, RawObject>();
  for (const oid of oids) {
    const size = outcome(() => remote.entryBytes(oid), ['ERR_PACK_CORRUPT']);
    check(isRefusal(size) || size === undefined || (Number.isSafeInteger(size) && size >= 0 && size <= pack.length), `entryBytes ${JSON.stringify(size)}`);
    const got = await outcomeAsync(() => remote.read(oid), CODES);
    if (isRefusal(got) || got === undefined) continue;
    check(got.content.length <= LIMITS.maxObjectSize, 'object over the limit');
    read.set(oidFromBytes(oid), got);
    if (local === undefined || isRefusal(local)) continue;
    const mine = outcome(() => local.read(oid, () => undefined), CODES);
    if (isRefusal(mine) || mine === undefined) continue;
    check(mine.type === got.type && mine.content.equals(got.content), `remote and local reads of ${oidFromBytes(oid)} differ`);
  }
  const many = await outcomeAsync(() => remote.readMany(oids), CODES);
  if (isRefusal(many)) return;
  for (const [oid, obj] of many) {
    const one = read.get(oid);
    check(one === undefined || (one.type === obj.type && one.content.equals(obj.content)), `readMany and read of ${oid} differ`);
  }
});
