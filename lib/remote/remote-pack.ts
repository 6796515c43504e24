// One pack of a remote silo, read with HTTP Range requests: its .idx is fetched once (and kept in the
// cache), and an object costs one request per entry of its delta chain, each for just that entry's bytes.
// An entry ends where the next one (in offset order) starts; the offsets are sorted once per pack, lazily,
// the first time an entry is read. Every object resolved here is checked against its id by the caller.
import { MedoError } from '../errors.js';
import { applyDelta } from '../git/delta.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES, parseEntryHeader } from '../git/pack-entry.js';
import type { RawObject } from '../git/pack-file.js';
import type { PackIndex } from '../git/pack-idx.js';
import { inflateExact } from '../inflate.js';
import { OID_BYTES, oidFromBytes } from '../oid.js';
import type { HttpClient } from './http.js';

const PACK_HEADER_BYTES = 12;
// deflate cannot expand data by more than 1032:1 (see lib/git/pack-file.ts).
// readMany: neighbouring entries closer than RUN_GAP share one request, up to RUN_MAX bytes per request.
const RUN_GAP = 16 << 10;
const RUN_MAX = 8 << 20;
const MAX_DEFLATE_RATIO = 1032;

export interface RemotePackOptions {
  maxObjectSize: number;
  maxChainLength: number;
  /** An object by id, from anywhere (the cache, then the remotes): REF_DELTA bases outside this pack. */
  resolveExternal: (oid: string) => Promise<RawObject | undefined>;
  /** An object of this chain whose id is known, already resolved: the caller verifies and caches it. */
  onResolved?: (oid: string, obj: RawObject) => void;
  /** Objects already held locally, consulted before fetching a delta base. */
  local?: (oid: string) => RawObject | undefined;
}

export class RemotePack {
  private ends: { offsets: Float64Array; positions: Uint32Array } | undefined;

  constructor(
    readonly url: string,
    readonly index: PackIndex,
    readonly packBytes: number,
    private readonly http: HttpClient,
    private readonly options: RemotePackOptions,
  ) {}

  has(oid: Buffer): boolean {
    return this.index.position(oid) >= 0;
  }

  /** Bytes of the entry for `oid` as stored (compressed; a delta's own bytes), or undefined when this pack does not hold it. */
  entryBytes(oid: Buffer): number | undefined {
    const offset = this.index.lookup(oid);
    if (offset === undefined) return undefined;
    const { end } = this.locate(offset);
    // The bounds come from the server's .idx and pack list: an offset past the pack's end made this
    // negative, and callers add these sizes up against budgets (prefetch-ahead, derived tarballs).
    if (!(offset >= PACK_HEADER_BYTES && end > offset && end <= this.packBytes - OID_BYTES)) {
      throw new MedoError('ERR_PACK_CORRUPT', `${this.url}: entry at offset ${offset}: bounds [${offset}, ${end}) are impossible in a pack of ${this.packBytes} bytes`,
        { path: this.url, offset });
    }
    return end - offset;
  }

  /** The object `oid` with its deltas applied, or undefined when this pack does not hold it. */
  async read(oid: Buffer, noCache = false): Promise<RawObject | undefined> {
    const offset = this.index.lookup(oid);
    return offset === undefined ? undefined : this.readAt(offset, noCache, new Set());
  }

  /**
   * Many objects of this pack at once, for prefetching: their entries are sorted by offset and fetched
   * as runs of neighbours (one Range request per run, gaps up to RUN_GAP bytes read through), then
   * resolved like single reads (delta bases outside the runs are fetched on their own). The results
   * are not verified here. Ids this pack does not hold are left out.
   */
  async readMany(oids: readonly Buffer[]): Promise<Map<string, RawObject>> {
    const entries = oids.flatMap((oid) => {
      const offset = this.index.lookup(oid);
      return offset === undefined ? [] : [{ oid: oidFromBytes(oid), offset, end: this.locate(offset).end }];
    }).sort((a, b) => a.offset - b.offset);
    const runs: { start: number; end: number; items: typeof entries }[] = [];
    for (const e of entries) {
      const last = runs[runs.length - 1];
      if (last !== undefined && e.offset - last.end <= RUN_GAP && e.end - last.start <= RUN_MAX) {
        last.end = Math.max(last.end, e.end);
        last.items.push(e);
      } else runs.push({ start: e.offset, end: e.end, items: [e] });
    }
    const fetched = new Map<number, Buffer>();
    await Promise.all(runs.map(async (run) => {
      const bytes = await this.http.get(this.url, { range: { start: run.start, end: run.end - 1 } });
      if (bytes === undefined || bytes.length !== run.end - run.start) return; // the single reads will say why
      for (const e of run.items) fetched.set(e.offset, bytes.subarray(e.offset - run.start, e.end - run.start));
    }));
    const out = new Map<string, RawObject>();
    // In parallel: a delta whose base lies outside the runs waits for its own request, not the others.
    await Promise.all(entries.map(async (e) => {
      try {
        out.set(e.oid, await this.readAt(e.offset, false, new Set(), fetched));
      } catch {
        // left out: the caller reads it on its own, with retries and errors that name it
      }
    }));
    return out;
  }

  private sorted(): { offsets: Float64Array; positions: Uint32Array } {
    if (this.ends === undefined) {
      // Typed arrays, not [offset, position] pairs: this runs on a cold mount's first fetch, before any
      // JIT warm-up, where n small arrays cost several times the sort itself.
      const n = this.index.count;
      const byPosition = new Float64Array(n);
      const positions = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        byPosition[i] = this.index.offsetAt(i);
        positions[i] = i;
      }
      positions.sort((a, b) => byPosition[a]! - byPosition[b]!);
      const offsets = new Float64Array(n);
      for (let i = 0; i < n; i++) offsets[i] = byPosition[positions[i]!]!;
      this.ends = { offsets, positions };
    }
    return this.ends;
  }

  /** [end of the entry at `offset`, its position in the idx] (binary search over sorted offsets). */
  private locate(offset: number): { end: number; position: number } {
    const { offsets, positions } = this.sorted();
    let lo = 0;
    let hi = offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    if (offsets[lo] !== offset) {
      throw new MedoError('ERR_PACK_CORRUPT', `${this.url}: offset ${offset} is not the start of any entry the index lists`, { path: this.url, offset });
    }
    const end = lo + 1 < offsets.length ? offsets[lo + 1]! : this.packBytes - OID_BYTES;
    return { end, position: positions[lo]! };
  }

  private async readAt(offset: number, noCache: boolean, chain: Set<number>, fetched?: ReadonlyMap<number, Buffer>): Promise<RawObject> {
    const depth = chain.size;
    const fail = (why: string): never => {
      throw new MedoError('ERR_PACK_CORRUPT', `${this.url}: entry at offset ${offset}: ${why}`, { path: this.url, offset });
    };
    if (chain.has(offset) || depth > this.options.maxChainLength) fail(`delta chain loops or exceeds ${this.options.maxChainLength}`);
    chain.add(offset);
    const { end, position } = this.locate(offset);
    const oid = oidFromBytes(this.index.oidAt(position));
    const have = depth > 0 ? this.options.local?.(oid) : undefined;
    if (have !== undefined) return have;
    if (!(offset >= PACK_HEADER_BYTES && end > offset)) fail(`entry bounds [${offset}, ${end}) are impossible`);
    const bytes = fetched?.get(offset) ?? await this.http.get(this.url, { range: { start: offset, end: end - 1 }, noCache });
    if (bytes === undefined) throw new MedoError('ERR_REMOTE', `${this.url}: the pack is listed but the server has no such file (404)`, { path: this.url, url: this.url, gone: true });
    if (bytes.length !== end - offset) fail(`the server sent ${bytes.length} bytes for a ${end - offset}-byte entry`);
    const h = parseEntryHeader(bytes, offset, this.url);
    const zdata = bytes.subarray(h.headerLength);
    if (h.size > zdata.length * MAX_DEFLATE_RATIO + 64) fail(`claims ${h.size} bytes, more than its compressed data can hold`);
    if (h.size > this.options.maxObjectSize) {
      throw new MedoError('ERR_TOO_LARGE', `${this.url}: entry at offset ${offset} claims ${h.size} bytes, over the limit of ${this.options.maxObjectSize}`,
        { path: this.url, offset });
    }
    const r = inflateExact(zdata, h.size);
    if (typeof r === 'string') fail(`bad zlib data (${r})`);
    const data = (r as { data: Buffer }).data;
    let obj: RawObject;
    if (h.typeCode === OBJ_OFS_DELTA || h.typeCode === OBJ_REF_DELTA) {
      let base: RawObject | undefined;
      if (h.typeCode === OBJ_OFS_DELTA) base = await this.readAt(h.baseOffset!, noCache, chain, fetched);
      else {
        const inPack = this.index.lookup(h.baseOid!);
        base = inPack !== undefined ? await this.readAt(inPack, noCache, chain, fetched) : await this.options.resolveExternal(oidFromBytes(h.baseOid!));
        if (base === undefined) {
          throw new MedoError('ERR_OBJECT_MISSING', `${this.url}: delta at offset ${offset} needs base ${oidFromBytes(h.baseOid!)}, which no silo holds`,
            { path: this.url, offset, oid: oidFromBytes(h.baseOid!) });
        }
      }
      try {
        obj = { type: base.type, content: applyDelta(base.content, data, this.options.maxObjectSize) };
      } catch (e) {
        if ((e as MedoError).code === 'ERR_TOO_LARGE') throw e;
        throw new MedoError('ERR_PACK_CORRUPT', `${this.url}: entry at offset ${offset}: ${(e as Error).message}`, { path: this.url, offset }, { cause: e });
      }
    } else {
      obj = { type: TYPE_NAMES[h.typeCode]!, content: data };
    }
    if (depth > 0) this.options.onResolved?.(oid, obj);
    return obj;
  }
}
