// Reads a medo silo over HTTP from a web page, the way medo's remote mode does (docs/remote.md): the
// pack list `pack/packs`, each pack's `.idx` (whole when small, else by Range requests: the fan-out, the
// id bucket a lookup needs, the offset table), pack entries by Range requests bounded by the next entry's
// offset, and `objects/xx/<38 hex>.gz` for objects no listed pack holds. Entries are inflated with the
// browser's DecompressionStream, deltas (OFS_DELTA and the REF_DELTA of thin packs) are applied here, and
// every object is checked against its git id before it is returned. No server code is involved: any
// static web server that honours Range serves all of it.
//
// Plain ES module with no dependencies, so the page loads it as it is; it runs in Node 20 too, where the
// tests hold it to git.
import { sha1Hex } from './sha1.js';

const IDX_MAGIC = 0xff744f63;
const FANOUT_END = 8 + 256 * 4;
const TYPES = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
/** A pack entry's header is at most this long (type and size varint, then an OFS_DELTA offset). */
const HEAD_BYTES = 32;
const MAX_CHAIN = 10000;

export class SiloError extends Error {
  constructor(message, url) {
    super(message);
    this.name = 'SiloError';
    this.url = url;
  }
}

/** Inflates `bytes` with the platform's DecompressionStream ('deflate' is zlib, as packs store it). */
export async function inflate(bytes, format = 'deflate') {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Git's id of an object: SHA-1 of "TYPE SIZE\0" and the content. */
export async function objectId(type, content) {
  const head = new TextEncoder().encode(`${type} ${content.length}\0`);
  const all = new Uint8Array(head.length + content.length);
  all.set(head, 0);
  all.set(content, head.length);
  const subtle = globalThis.crypto?.subtle;
  if (subtle !== undefined) {
    const digest = new Uint8Array(await subtle.digest('SHA-1', all));
    return hex(digest);
  }
  return sha1Hex(all);
}

export function hex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function readVarint(bytes, at) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at.i >= bytes.length) throw new Error('truncated size');
    const c = bytes[at.i++];
    value += (c & 0x7f) * scale;
    scale *= 128;
    if (value > Number.MAX_SAFE_INTEGER) throw new Error('size too large');
    if ((c & 0x80) === 0) return value;
  }
}

/** Git's delta format: base size, result size, then copy and insert instructions, each bounds-checked. */
export function applyDelta(base, delta) {
  const at = { i: 0 };
  const baseSize = readVarint(delta, at);
  const resultSize = readVarint(delta, at);
  if (baseSize !== base.length) throw new Error(`delta declares a base of ${baseSize} bytes, base has ${base.length}`);
  const out = new Uint8Array(resultSize);
  let o = 0;
  let i = at.i;
  while (i < delta.length) {
    const op = delta[i++];
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let b = 0; b < 4; b++) if (op & (1 << b)) off += delta[i++] * 2 ** (8 * b);
      for (let b = 0; b < 3; b++) if (op & (1 << (4 + b))) len += delta[i++] * 2 ** (8 * b);
      if (i > delta.length) throw new Error('truncated copy instruction');
      if (len === 0) len = 0x10000;
      if (off + len > base.length) throw new Error('delta copies past its base');
      if (o + len > resultSize) throw new Error('delta writes past its declared size');
      out.set(base.subarray(off, off + len), o);
      o += len;
    } else if (op !== 0) {
      if (i + op > delta.length) throw new Error('truncated insert instruction');
      if (o + op > resultSize) throw new Error('delta writes past its declared size');
      out.set(delta.subarray(i, i + op), o);
      o += op;
      i += op;
    } else {
      throw new Error('reserved delta instruction 0');
    }
  }
  if (o !== resultSize) throw new Error(`delta produced ${o} of ${resultSize} bytes`);
  return out;
}

/** The entries of a git tree object. */
export function parseTree(content) {
  const entries = [];
  const utf8 = new TextDecoder();
  let i = 0;
  while (i < content.length) {
    const space = content.indexOf(0x20, i);
    const nul = space < 0 ? -1 : content.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > content.length) throw new Error('truncated tree entry');
    const mode = utf8.decode(content.subarray(i, space));
    if (!/^[0-7]{5,6}$/.test(mode)) throw new Error(`bad tree entry mode ${JSON.stringify(mode)}`);
    const name = utf8.decode(content.subarray(space + 1, nul));
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Error(`unsafe tree entry name ${JSON.stringify(name)}`);
    entries.push({ mode: mode.padStart(6, '0'), name, oid: hex(content.subarray(nul + 1, nul + 21)) });
    i = nul + 21;
  }
  return entries;
}

export const isTreeMode = (mode) => mode === '040000';

/** At most `limit` promises' worth of work at once. */
class Gate {
  constructor(limit) {
    this.limit = limit;
    this.active = 0;
    this.waiting = [];
  }
  async run(fn) {
    if (this.active >= this.limit) await new Promise((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Insertion-ordered cache with a byte budget. */
class ByteCache {
  constructor(budget) {
    this.budget = budget;
    this.bytes = 0;
    this.map = new Map();
  }
  get(key) {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key, value, bytes) {
    if (bytes > this.budget / 4) return;
    this.map.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budget) break;
      this.map.delete(k);
      this.bytes -= v.bytes;
    }
  }
}

class Pack {
  constructor(reader, name, packBytes, idxBytes) {
    this.reader = reader;
    this.name = name;
    this.packBytes = packBytes;
    this.idxBytes = idxBytes;
    this.packPath = `pack/${name}`;
    this.idxPath = `pack/${name.replace(/\.pack$/, '.idx')}`;
    this.loaded = undefined;
    this.buckets = new Map();
  }

  /** The fan-out and the offsets (and, for a small index, the ids), fetched once. */
  load() {
    this.loaded ??= this.fetchTables();
    return this.loaded;
  }

  async fetchTables() {
    const r = this.reader;
    const whole = this.idxBytes <= r.wholeIdxBelow;
    const head = whole ? await r.get(this.idxPath) : await r.range(this.idxPath, 0, FANOUT_END);
    if (whole && head.length !== this.idxBytes) throw new SiloError(`${this.idxPath} is ${head.length} bytes, the pack list says ${this.idxBytes}`, r.url(this.idxPath));
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (head.length < FANOUT_END || view.getUint32(0) !== IDX_MAGIC || view.getUint32(4) !== 2) {
      throw new SiloError(`${this.idxPath} is not a pack index v2`, r.url(this.idxPath));
    }
    const fanout = new Uint32Array(256);
    for (let b = 0; b < 256; b++) {
      fanout[b] = view.getUint32(8 + b * 4);
      if (b > 0 && fanout[b] < fanout[b - 1]) throw new SiloError(`${this.idxPath}: fan-out is not sorted`, r.url(this.idxPath));
    }
    const n = fanout[255];
    const offsetsAt = FANOUT_END + 24 * n;
    const tablesEnd = this.idxBytes - 40;
    if (tablesEnd < offsetsAt + 4 * n || (tablesEnd - offsetsAt - 4 * n) % 8 !== 0) {
      throw new SiloError(`${this.idxPath}: ${this.idxBytes} bytes does not fit ${n} objects`, r.url(this.idxPath));
    }
    if (whole) {
      // The trailer is the SHA-1 of everything before it: a whole index is checked as a whole.
      const sum = hex(head.subarray(this.idxBytes - 20));
      if (sha1Hex(head.subarray(0, this.idxBytes - 20)) !== sum) throw new SiloError(`${this.idxPath} does not match its checksum`, r.url(this.idxPath));
      this.ids = head.subarray(FANOUT_END, FANOUT_END + 20 * n);
    }
    const tables = whole ? head.subarray(offsetsAt, tablesEnd) : await r.range(this.idxPath, offsetsAt, tablesEnd);
    const tv = new DataView(tables.buffer, tables.byteOffset, tables.byteLength);
    const offsets = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = tv.getUint32(i * 4);
      if (v & 0x80000000) {
        const k = v & 0x7fffffff;
        const at = 4 * n + 8 * k;
        if (at + 8 > tables.length) throw new SiloError(`${this.idxPath}: large offset ${k} is missing`, r.url(this.idxPath));
        offsets[i] = tv.getUint32(at) * 2 ** 32 + tv.getUint32(at + 4);
      } else {
        offsets[i] = v;
      }
      if (offsets[i] < 12 || offsets[i] >= this.packBytes - 20) throw new SiloError(`${this.idxPath}: offset ${offsets[i]} is outside the pack`, r.url(this.idxPath));
    }
    const sorted = [...offsets].sort((a, b) => a - b);
    const ends = new Map();
    for (let i = 0; i < sorted.length; i++) ends.set(sorted[i], i + 1 < sorted.length ? sorted[i + 1] : this.packBytes - 20);
    return { fanout, offsets, ends };
  }

  /** The ids whose first byte is `b`, sorted: part of the whole index, or one Range request. */
  async bucket(b, fanout) {
    const lo = b === 0 ? 0 : fanout[b - 1];
    const hi = fanout[b];
    if (this.ids !== undefined) return { lo, ids: this.ids.subarray(20 * lo, 20 * hi) };
    let p = this.buckets.get(b);
    if (p === undefined) {
      p = this.reader.range(this.idxPath, FANOUT_END + 20 * lo, FANOUT_END + 20 * hi).then((ids) => ({ lo, ids }));
      this.buckets.set(b, p);
    }
    return p;
  }

  /** The pack offset of `oid`, or undefined. */
  async find(oid) {
    const { fanout, offsets } = await this.load();
    const b = parseInt(oid.slice(0, 2), 16);
    if ((b === 0 ? 0 : fanout[b - 1]) === fanout[b]) return undefined;
    const { lo, ids } = await this.bucket(b, fanout);
    const want = oid.toLowerCase();
    let l = 0;
    let h = ids.length / 20;
    while (l < h) {
      const m = (l + h) >>> 1;
      const id = hex(ids.subarray(20 * m, 20 * m + 20));
      if (id === want) return offsets[lo + m];
      if (id < want) l = m + 1;
      else h = m;
    }
    return undefined;
  }

  async end(offset) {
    const { ends } = await this.load();
    const e = ends.get(offset);
    if (e === undefined) throw new SiloError(`${this.packPath}: no entry starts at ${offset}`, this.reader.url(this.packPath));
    return e;
  }
}

/** Type, size and where the data starts, from an entry's first bytes. */
function parseEntryHead(bytes, offset) {
  let c = bytes[0];
  const type = (c >> 4) & 7;
  let size = c & 15;
  let scale = 16;
  let i = 1;
  while (c & 0x80) {
    if (i >= bytes.length) throw new Error('truncated entry header');
    c = bytes[i++];
    size += (c & 0x7f) * scale;
    scale *= 128;
  }
  const head = { type, size, dataAt: i };
  if (type === OFS_DELTA) {
    if (i >= bytes.length) throw new Error('truncated delta offset');
    c = bytes[i++];
    let rel = c & 0x7f;
    while (c & 0x80) {
      if (i >= bytes.length) throw new Error('truncated delta offset');
      c = bytes[i++];
      rel = (rel + 1) * 128 + (c & 0x7f);
    }
    head.baseOffset = offset - rel;
    if (head.baseOffset < 12 || rel === 0) throw new Error(`delta base offset ${head.baseOffset} is outside the pack`);
    head.dataAt = i;
  } else if (type === REF_DELTA) {
    if (i + 20 > bytes.length) throw new Error('truncated delta base id');
    head.baseOid = hex(bytes.subarray(i, i + 20));
    head.dataAt = i + 20;
  } else if (TYPES[type] === undefined) {
    throw new Error(`unknown entry type ${type}`);
  }
  return head;
}

export class SiloReader {
  /**
   * @param {string} base the silo's URL, ending in '/'
   * @param {{fetch?: typeof fetch, parallel?: number, wholeIdxBelow?: number, cacheBytes?: number}} options
   *   wholeIdxBelow: an index up to this many bytes is fetched whole (default 256 KiB), a bigger one by ranges
   */
  constructor(base, options = {}) {
    this.base = base.endsWith('/') ? base : `${base}/`;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.gate = new Gate(options.parallel ?? 6);
    this.wholeIdxBelow = options.wholeIdxBelow ?? 256 * 1024;
    this.cache = new ByteCache(options.cacheBytes ?? 64 * 1024 * 1024);
    this.stats = { requests: 0, bytes: 0 };
    this.packs = [];
    this.located = new Map();
    this.whole = new Map();
  }

  /** Opens a silo: reads its pack list (a silo without one is read as loose objects only). */
  static async open(base, options) {
    const r = new SiloReader(base, options);
    const list = await r.get('pack/packs', { missingOk: true });
    if (list !== undefined) {
      const text = new TextDecoder().decode(list);
      const lines = text.split('\n');
      if (lines[0] !== '# medo pack list v1') throw new SiloError('pack/packs is not a medo pack list v1', r.url('pack/packs'));
      for (const line of lines.slice(1)) {
        if (line === '' || line.startsWith('#')) continue;
        const m = /^P (pack-[0-9a-f]{40}\.pack) (\d+) (\d+)$/.exec(line);
        if (m === null) throw new SiloError(`pack/packs: cannot read line ${JSON.stringify(line)}`, r.url('pack/packs'));
        r.packs.push(new Pack(r, m[1], Number(m[2]), Number(m[3])));
      }
    }
    return r;
  }

  url(path) {
    return new URL(path, this.base).href;
  }

  /** GET of a whole file; undefined for a 404 when `missingOk`. */
  async get(path, { missingOk = false } = {}) {
    return this.gate.run(async () => {
      const url = this.url(path);
      this.stats.requests++;
      const res = await this.fetchImpl(url);
      if (res.status === 404 && missingOk) return undefined;
      if (!res.ok) throw new SiloError(`GET ${url}: HTTP ${res.status}`, url);
      const body = new Uint8Array(await res.arrayBuffer());
      this.stats.bytes += body.length;
      return body;
    });
  }

  /** Bytes [start, end) of a file by a Range request (a server that ignores Range is read whole, once). */
  async range(path, start, end) {
    if (end <= start) return new Uint8Array(0);
    const whole = this.whole.get(path);
    if (whole !== undefined) return (await whole).subarray(start, end);
    return this.gate.run(async () => {
      const url = this.url(path);
      this.stats.requests++;
      const res = await this.fetchImpl(url, { headers: { Range: `bytes=${start}-${end - 1}` } });
      if (res.status === 200) {
        const all = new Uint8Array(await res.arrayBuffer());
        this.stats.bytes += all.length;
        this.whole.set(path, Promise.resolve(all));
        return all.subarray(start, end);
      }
      if (res.status !== 206) throw new SiloError(`GET ${url} (bytes ${start}-${end - 1}): HTTP ${res.status}`, url);
      const body = new Uint8Array(await res.arrayBuffer());
      this.stats.bytes += body.length;
      if (body.length !== end - start) throw new SiloError(`GET ${url} (bytes ${start}-${end - 1}): got ${body.length} bytes`, url);
      return body;
    });
  }

  /** Where `oid` is: {pack, offset} in the first listed pack that has it, or {loose: true}. */
  async locate(oid) {
    let p = this.located.get(oid);
    if (p === undefined) {
      p = (async () => {
        for (const pack of this.packs) {
          const offset = await pack.find(oid);
          if (offset !== undefined) return { pack, offset };
        }
        return { loose: true };
      })();
      this.located.set(oid, p);
    }
    return p;
  }

  /** Type and content of the entry at `offset`, with its delta chain applied. */
  async readEntry(pack, offset, depth = 0) {
    const key = `${pack.name}@${offset}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit.value;
    if (depth > MAX_CHAIN) throw new SiloError(`${pack.packPath}: delta chain longer than ${MAX_CHAIN} at ${offset}`, this.url(pack.packPath));
    const end = await pack.end(offset);
    const bytes = await this.range(pack.packPath, offset, end);
    const where = `${pack.packPath} entry at ${offset}`;
    let head;
    let data;
    try {
      head = parseEntryHead(bytes, offset);
      data = await inflate(bytes.subarray(head.dataAt));
    } catch (e) {
      throw new SiloError(`${where}: ${e.message}`, this.url(pack.packPath));
    }
    if (data.length !== head.size) throw new SiloError(`${where}: inflates to ${data.length} bytes, its header says ${head.size}`, this.url(pack.packPath));
    let result;
    if (head.baseOffset !== undefined || head.baseOid !== undefined) {
      const base = head.baseOffset !== undefined
        ? await this.readEntry(pack, head.baseOffset, depth + 1)
        : await this.readObject(head.baseOid, undefined, depth + 1);
      try {
        result = { type: base.type, content: applyDelta(base.content, data) };
      } catch (e) {
        throw new SiloError(`${where}: ${e.message}`, this.url(pack.packPath));
      }
    } else {
      result = { type: TYPES[head.type], content: data };
    }
    this.cache.set(key, result, result.content.length + 64);
    return result;
  }

  /** An object's type and content, checked against its id. `expect` ('tree', 'blob') picks a loose object's type. */
  async readObject(oid, expect, depth = 0) {
    if (!/^[0-9a-f]{40}$/.test(oid)) throw new SiloError(`${JSON.stringify(oid)} is not an object id`);
    const where = await this.locate(oid);
    if (where.loose) {
      const path = `objects/${oid.slice(0, 2)}/${oid.slice(2)}.gz`;
      const gz = await this.get(path, { missingOk: true });
      if (gz === undefined) throw new SiloError(`object ${oid} is not in this silo`, this.url(path));
      let content;
      try {
        content = await inflate(gz, 'gzip');
      } catch (e) {
        throw new SiloError(`${path}: ${e.message}`, this.url(path));
      }
      // A loose object carries no type: it is whichever its content hashes to under its name.
      for (const type of expect === 'tree' ? ['tree', 'blob'] : ['blob', 'tree']) {
        if (await objectId(type, content) === oid) return { type, content };
      }
      throw new SiloError(`${path} does not hash to ${oid}`, this.url(path));
    }
    const obj = await this.readEntry(where.pack, where.offset, depth);
    const got = await objectId(obj.type, obj.content);
    if (got !== oid) throw new SiloError(`${where.pack.packPath} entry at ${where.offset} is ${got}, not ${oid}`, this.url(where.pack.packPath));
    return obj;
  }

  async readTree(oid) {
    const obj = await this.readObject(oid, 'tree');
    if (obj.type !== 'tree') throw new SiloError(`${oid} is a ${obj.type}, not a tree`);
    try {
      return parseTree(obj.content);
    } catch (e) {
      throw new SiloError(`tree ${oid}: ${e.message}`);
    }
  }

  async readBlob(oid) {
    const obj = await this.readObject(oid, 'blob');
    if (obj.type !== 'blob') throw new SiloError(`${oid} is a ${obj.type}, not a blob`);
    return obj.content;
  }

  /**
   * The size of each blob, without fetching the blobs: a packed whole entry's header says it (the
   * headers of entries close together come in one request); a delta's result size is the start of the
   * delta, which is inflated (deltas are small); a loose object is fetched.
   */
  async sizes(oids) {
    const out = new Map();
    const heads = [];
    await Promise.all([...new Set(oids)].map(async (oid) => {
      const where = await this.locate(oid);
      if (where.loose) out.set(oid, (await this.readBlob(oid)).length);
      else heads.push({ oid, pack: where.pack, offset: where.offset, end: await where.pack.end(where.offset) });
    }));
    heads.sort((a, b) => (a.pack.name < b.pack.name ? -1 : a.pack.name > b.pack.name ? 1 : a.offset - b.offset));
    const runs = [];
    for (const h of heads) {
      const stop = Math.min(h.end, h.offset + HEAD_BYTES);
      const last = runs[runs.length - 1];
      if (last !== undefined && last.pack === h.pack && h.offset - last.end < 16 * 1024 && stop - last.start < 8 * 1024 * 1024) {
        last.end = Math.max(last.end, stop);
        last.items.push(h);
      } else {
        runs.push({ pack: h.pack, start: h.offset, end: stop, items: [h] });
      }
    }
    await Promise.all(runs.map(async (run) => {
      const bytes = await this.range(run.pack.packPath, run.start, run.end);
      await Promise.all(run.items.map(async (h) => {
        const head = parseEntryHead(bytes.subarray(h.offset - run.start, Math.min(h.end, h.offset + HEAD_BYTES) - run.start), h.offset);
        if (head.type !== OFS_DELTA && head.type !== REF_DELTA) {
          out.set(h.oid, head.size);
          return;
        }
        // The run may hold the whole (small) delta already.
        const entry = h.end <= run.end ? bytes.subarray(h.offset - run.start, h.end - run.start) : await this.range(run.pack.packPath, h.offset, h.end);
        const delta = await inflate(entry.subarray(head.dataAt));
        const at = { i: 0 };
        readVarint(delta, at);
        out.set(h.oid, readVarint(delta, at));
      }));
    }));
    return out;
  }
}

/** The sidecar's attributes of one path: {perm, mtime (seconds), nsec}, or undefined. */
export function metaAttrs(meta, path) {
  if (meta === undefined) return undefined;
  const v = meta.paths?.[path];
  if (v === undefined) return undefined;
  const a = typeof v === 'number' ? meta.attrs?.[v] : v;
  if (!Array.isArray(a)) return undefined;
  return { perm: a[0], mtime: a[1], nsec: a[2] ?? 0 };
}

/**
 * What changed from tree `a` to tree `b`, as `git diff-tree -r` lists it: A, D, M and T (a type change
 * between file and symlink) per file, subtrees with equal ids never read.
 */
export async function diffTrees(reader, a, b, prefix = '') {
  const out = [];
  if (a === b) return out;
  const [ea, eb] = await Promise.all([a === undefined ? [] : reader.readTree(a), b === undefined ? [] : reader.readTree(b)]);
  const byName = new Map();
  for (const e of ea) byName.set(e.name, { a: e });
  for (const e of eb) byName.set(e.name, { ...byName.get(e.name), b: e });
  const names = [...byName.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const parts = await Promise.all(names.map(async (name) => {
    const { a: x, b: y } = byName.get(name);
    const path = prefix + name;
    if (x !== undefined && y !== undefined && x.oid === y.oid && x.mode === y.mode) return [];
    const xt = x !== undefined && isTreeMode(x.mode);
    const yt = y !== undefined && isTreeMode(y.mode);
    if (xt || yt) {
      const sub = await diffTrees(reader, xt ? x.oid : undefined, yt ? y.oid : undefined, `${path}/`);
      const rows = [];
      if (x !== undefined && !xt) rows.push({ status: 'D', path, oldMode: x.mode, oldOid: x.oid });
      if (y !== undefined && !yt) rows.push({ status: 'A', path, newMode: y.mode, newOid: y.oid });
      return [...rows, ...sub];
    }
    if (x === undefined) return [{ status: 'A', path, newMode: y.mode, newOid: y.oid }];
    if (y === undefined) return [{ status: 'D', path, oldMode: x.mode, oldOid: x.oid }];
    const typeChanged = (x.mode === '120000') !== (y.mode === '120000');
    return [{ status: typeChanged ? 'T' : 'M', path, oldMode: x.mode, newMode: y.mode, oldOid: x.oid, newOid: y.oid }];
  }));
  for (const p of parts) out.push(...p);
  out.sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));
  return out;
}
