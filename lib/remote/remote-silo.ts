// One silo at a URL, served by a static web server: loose objects by GET, packed ones by Range requests
// (remote-pack.ts) after the pack list (lib/silo/pack-list.ts) and each pack's .idx are fetched. Nothing
// returned here is trusted yet: RemoteStore checks every object against its id before use or caching.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { PackIndex } from '../git/pack-idx.js';
import type { RawObject } from '../git/pack-file.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { BufferSource } from '../io/random-access.js';
import { OID_BYTES } from '../oid.js';
import { PACK_LIST, parsePackList } from '../silo/pack-list.js';
import { identifyLooseContent } from '../silo/silo.js';
import { remoteIdxDir } from './cache.js';
import type { HttpClient } from './http.js';
import { RemotePack, type RemotePackOptions } from './remote-pack.js';

/** How long a silo whose pack list could not be fetched is taken as down. */
const RETRY_DOWN_AFTER_MS = 30_000;
/** A miss in a pack list older than this reads the list again: the silo may have been republished. */
const RELIST_AFTER_MS = 10_000;

export interface FetchedObject {
  object: RawObject;
  /** Where it came from, for messages. */
  url: string;
}

export class RemoteSilo {
  private packs: Promise<RemotePack[]> | undefined;
  private failedAt: number | undefined;
  private listedAt = 0;

  /** `url` ends with '/'. */
  constructor(
    readonly url: string,
    private readonly http: HttpClient,
    private readonly cacheDir: string,
    private readonly packOptions: RemotePackOptions,
    private readonly relistAfterMs = RELIST_AFTER_MS,
  ) {}

  /** The object as the server has it (unverified), or undefined when this silo does not hold it. */
  async read(oid: string, noCache = false): Promise<FetchedObject | undefined> {
    const key = Buffer.from(oid, 'hex');
    // A silo copied to a web server is republished in place (docs/operations.md, "Static copies"): the
    // list this reader holds may name a pack the copy has since deleted, or miss one it has since got.
    // Either way the list is read again, once, before the object is taken as gone or missing.
    const listed = this.packList();
    let found: FetchedObject | undefined;
    try {
      found = await this.readPacked(await listed, key, noCache);
    } catch (e) {
      if ((e as MedoError).data?.gone !== true) throw e;
      found = await this.readPacked(await this.relist(listed), key, noCache);
    }
    if (found === undefined && Date.now() - this.listedAt >= this.relistAfterMs) {
      found = await this.readPacked(await this.relist(listed), key, noCache);
    }
    if (found !== undefined) return found;
    const url = `${this.url}objects/${oid.slice(0, 2)}/${oid.slice(2)}.gz`;
    const gz = await this.http.get(url, { noCache });
    if (gz === undefined) return undefined;
    let content: Buffer;
    try {
      content = gunzipSync(gz, { maxOutputLength: Math.min(this.packOptions.maxObjectSize, gz.length * 1032 + 64) || 1 });
    } catch (e) {
      throw new MedoError('ERR_OBJECT_CORRUPT', `${url}: bad gzip data (${(e as Error).message})`, { oid, path: url, url }, { cause: e });
    }
    // Loose silo objects carry no type: blob or tree, whichever the content hashes to; neither means the
    // bytes are wrong, which the caller reports like any other mismatch.
    const type = identifyLooseContent(content, oid) ?? 'blob';
    return { object: { type, content }, url };
  }

  /** The listed pack that holds `oid`, if any. */
  async packHolding(oid: string): Promise<RemotePack | undefined> {
    const key = Buffer.from(oid, 'hex');
    return (await this.packList()).find((p) => p.has(key));
  }

  private async readPacked(packs: readonly RemotePack[], key: Buffer, noCache: boolean): Promise<FetchedObject | undefined> {
    for (const p of packs) {
      if (!p.has(key)) continue;
      const object = await p.read(key, noCache);
      if (object !== undefined) return { object, url: p.url };
    }
    return undefined;
  }

  /** The packs the silo's pack list names, with their indexes (fetched once, then read from the cache). */
  packList(): Promise<RemotePack[]> {
    if (this.packs === undefined || (this.failedAt !== undefined && Date.now() - this.failedAt > RETRY_DOWN_AFTER_MS)) {
      this.failedAt = undefined;
      this.setPacks(this.loadPacks(false));
    }
    return this.packs!;
  }

  /**
   * The pack list read again, past any cache on the way, unless someone already did since `seen` was
   * the list: concurrent reads that all meet the same stale list share one new fetch.
   */
  private relist(seen: Promise<RemotePack[]>): Promise<RemotePack[]> {
    if (this.packs === seen) this.setPacks(this.loadPacks(true));
    return this.packs!;
  }

  private setPacks(p: Promise<RemotePack[]>): void {
    // A failure is remembered for a while, so that every object does not pay the timeout and the
    // retries again on a server that is down (the next silo answers meanwhile); then it is asked again.
    p.then(() => {
      this.listedAt = Date.now();
    }, () => {
      this.failedAt = Date.now();
    });
    this.packs = p;
  }

  private async loadPacks(noCache: boolean): Promise<RemotePack[]> {
    try {
      return await this.loadPacksOnce(noCache);
    } catch (e) {
      // The list was read just before the copy deleted a pack it names: the new list will not name it.
      if ((e as MedoError).data?.gone !== true) throw e;
      return this.loadPacksOnce(true);
    }
  }

  private async loadPacksOnce(noCache: boolean): Promise<RemotePack[]> {
    const listUrl = `${this.url}${PACK_LIST}`;
    const text = await this.http.get(listUrl, { noCache });
    if (text === undefined) return []; // a silo of loose objects only, or one published without a pack list
    const entries = parsePackList(text.toString('utf8'), listUrl);
    const dir = remoteIdxDir(this.cacheDir, this.url);
    return Promise.all(entries.map(async (e) => {
      const idx = await this.idx(dir, e.name, e.idxBytes);
      return new RemotePack(`${this.url}pack/${e.name}.pack`, idx, e.packBytes, this.http, this.packOptions);
    }));
  }

  private async idx(dir: string, name: string, bytes: number): Promise<PackIndex> {
    const path = join(dir, `${name}.idx`);
    try {
      return PackIndex.open(new BufferSource(readFileSync(path), path));
    } catch {
      // not cached yet (or damaged): fetch it again
    }
    const url = `${this.url}pack/${name}.idx`;
    let buf = await this.http.get(url);
    if (buf !== undefined && !idxIntact(buf, bytes)) buf = await this.http.get(url, { noCache: true });
    if (buf === undefined) throw new MedoError('ERR_REMOTE', `${url}: listed in ${PACK_LIST} but not on the server (404): republish the silo`, { path: url, url, gone: true });
    if (!idxIntact(buf, bytes)) {
      throw new MedoError('ERR_REMOTE', `${url}: the index is not the ${bytes} bytes its pack list names, or fails its own checksum`, { path: url, url });
    }
    const index = PackIndex.open(new BufferSource(buf, url));
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(path, buf);
    return index;
  }
}

/** An idx ends with the SHA-1 of everything before it: a cheap, complete check of a fetched one. */
export function idxIntact(buf: Buffer, bytes: number): boolean {
  if (buf.length !== bytes || buf.length < OID_BYTES) return false;
  const sum = createHash('sha1').update(buf.subarray(0, buf.length - OID_BYTES)).digest();
  return sum.equals(buf.subarray(buf.length - OID_BYTES));
}
