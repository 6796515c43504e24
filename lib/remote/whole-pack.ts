// Fetching a remote pack whole, when asked (`--whole-packs`: a whole wedge is wanted and one large
// download beats thousands of Range requests). The pack is checked before it is installed in the cache
// silo's pack/: its length and SHA-1 trailer against the pack list and the .idx, then every object it
// holds is resolved and hashed against the id the .idx gives it, as `git index-pack` would. A pack that
// fails is never installed; the caller falls back to fetching objects one by one.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { MedoError } from '../errors.js';
import { PackFile, type BaseResolver } from '../git/pack-file.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { BufferSource } from '../io/random-access.js';
import { OID_BYTES, hashObject, oidFromBytes } from '../oid.js';
import type { Silo } from '../silo/silo.js';
import type { HttpClient } from './http.js';
import type { RemotePack } from './remote-pack.js';

/** Downloads `pack`, checks all of it, and installs it (.pack, then .idx) in `cache`. Returns its bytes. */
export async function fetchWholePack(pack: RemotePack, http: HttpClient, cache: Silo, external: BaseResolver): Promise<number> {
  const fail = (why: string): never => {
    throw new MedoError('ERR_OBJECT_CORRUPT', `${pack.url}: ${why}`, { path: pack.url, url: pack.url });
  };
  const buf = await http.get(pack.url);
  if (buf === undefined) throw new MedoError('ERR_REMOTE', `${pack.url}: listed but not on the server (404)`, { path: pack.url, url: pack.url });
  if (buf.length !== pack.packBytes) fail(`${buf.length} bytes, but the pack list says ${pack.packBytes}`);
  const trailer = buf.subarray(buf.length - OID_BYTES);
  if (!createHash('sha1').update(buf.subarray(0, buf.length - OID_BYTES)).digest().equals(trailer)) fail('the SHA-1 trailer does not match the content');
  const file = new PackFile(pack.index, new BufferSource(buf, pack.url), { baseCacheBytes: 64 << 20 });
  for (let i = 0; i < pack.index.count; i++) {
    const oid = oidFromBytes(pack.index.oidAt(i));
    const o = file.readAt(pack.index.offsetAt(i), external);
    if (hashObject(o.type, o.content) !== oid) fail(`the entry for ${oid} resolves to other bytes`);
  }
  const name = `pack-${trailer.toString('hex')}`;
  const idx = pack.index.src.read(0, pack.index.src.size);
  // .pack before .idx: a reader that sees the index always finds its pack (lib/git/pack-set.ts).
  writeFileAtomic(join(cache.path, 'pack', `${name}.pack`), buf);
  writeFileAtomic(join(cache.path, 'pack', `${name}.idx`), idx);
  return buf.length;
}
