// `medo url-for`: where a .treeptr's objects can be fetched from, silo by silo in SILO.json order.
//   loose   `<silo>/objects/xx/<38 hex>.gz`: gzip of the content, so `curl URL | gunzip` (or `gunzip <
//           PATH`) gives the file or the raw tree object.
//   packed  the .pack and the entry's byte range: `length` bytes at `offset` are the entry (header, then
//           zlib data); the zlib data alone is `dataLength` bytes at `dataOffset`. A whole entry inflates to
//           the content; a delta entry inflates to a git delta against its base (gitformat-pack).
// Local silos are looked at. A remote (http/https) silo is not contacted by url-for (lib/remote does the fetching): its loose
// URL is given as an unchecked candidate, and packed copies stay unknown unless a local copy of that silo
// (a mirror: the directory the web server serves) is named, in which case its answer is given as URLs,
// true as far as the mirror is current.
import { existsSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { MedoError } from '../errors.js';
import { walkTree } from '../git/tree-walk.js';
import { MODE_GITLINK, MODE_TREE } from '../git/tree.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA } from '../git/pack-entry.js';
import type { PackFile } from '../git/pack-file.js';
import { oidFromBytes, oidToBytes } from '../oid.js';
import { entryEnd, sortedOffsets } from '../silo/inventory.js';
import { derivedOf } from '../silo/derive.js';
import { Silo, isSilo, siloLooseFormat } from '../silo/silo.js';
import { StoreChain } from '../store-chain.js';
import { MedoDir, type SiloRef } from './medo-dir.js';
import { readTreeptr, rootOid, type Treeptr } from './treeptr.js';

export interface Location {
  /** The silo as SILO.json names it. */
  silo: string;
  kind: 'loose' | 'pack';
  /** A file path (local silo) or a URL (remote silo). */
  location: string;
  /** True: seen to hold the object (in the silo or its mirror). False: a remote candidate nobody checked. */
  checked: boolean;
  // kind 'pack':
  idx?: string;
  offset?: number;
  length?: number;
  dataOffset?: number;
  dataLength?: number;
  entry?: 'whole' | 'ofs-delta' | 'ref-delta';
  baseOffset?: number;
  baseOid?: string;
}

export interface ObjectLocations {
  oid: string;
  type: 'tree' | 'blob';
  /** 'root', 'meta', or the object's path inside the tree. */
  role: 'root' | 'meta' | 'entry';
  path: string;
  locations: Location[];
}

/** A derived form of the tree (lib/silo/derive.ts) that a silo holds. */
export interface DerivedLocation {
  silo: string;
  form: string;
  /** A file path (local silo) or a URL (remote silo, as its mirror holds it). */
  location: string;
  bytes: number;
  sha256: string;
}

export interface UrlForResult {
  treeptr: string;
  medoDir: string;
  objects: ObjectLocations[];
  /** The tree's derived forms (tarballs, images) in the silos that can be read. */
  derived: DerivedLocation[];
  notes: string[];
}

export interface UrlForOptions {
  /** List every object of the tree (subtrees, blobs, the meta sidecar), not only the root. */
  all?: boolean;
  /** Remote silo URL -> a local directory holding a copy of it. */
  mirrors?: ReadonlyMap<string, string>;
}

interface Source {
  ref: SiloRef;
  silo?: Silo;
  /** Turns a path relative to the silo root into what we print. */
  place: (rel: string) => string;
}

export function normalizeSiloUrl(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

export class Locator {
  private readonly sources: Source[] = [];
  private readonly ends = new Map<PackFile, Float64Array>();
  readonly notes: string[] = [];

  constructor(md: MedoDir, mirrors: ReadonlyMap<string, string> = new Map()) {
    try {
      this.open(md, mirrors);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private open(md: MedoDir, mirrors: ReadonlyMap<string, string>): void {
    const byUrl = new Map([...mirrors].map(([u, d]) => [normalizeSiloUrl(u), d]));
    const unused = new Set(byUrl.keys());
    for (const ref of md.silos) {
      if (ref.path !== undefined) {
        if (!isSilo(ref.path)) {
          this.notes.push(`${ref.spec}: not a silo (no medo-silo.json in ${ref.path}); skipped`);
          continue;
        }
        const root = ref.path;
        this.sources.push({ ref, silo: Silo.open(root), place: (rel) => `${root}/${rel}` });
        continue;
      }
      const url = ref.url!;
      const mirror = byUrl.get(url);
      unused.delete(url);
      if (mirror !== undefined) {
        this.sources.push({ ref, silo: Silo.open(mirror), place: (rel) => `${url}${rel}` });
        this.notes.push(`${url}: answered from the local copy ${mirror}, true as far as that copy is current`);
      } else {
        this.sources.push({ ref, place: (rel) => `${url}${rel}` });
        this.notes.push(`${url}: remote silo, not checked (url-for does not contact servers; medo prefetch does): its loose URL is only a candidate, ` +
          'and a packed copy can only be found through its pack index (name a local copy with --mirror URL=DIR)');
      }
    }
    if (unused.size > 0) throw new MedoError('ERR_USAGE', `--mirror: no silo in ${md.root}/SILO.json has the URL ${[...unused].join(', ')}`);
  }

  /** The silos we can read (local ones and mirrors), in order, as one store; undefined when there is none. */
  store(): StoreChain | undefined {
    const silos = this.sources.flatMap((s) => (s.silo === undefined ? [] : [s.silo]));
    return silos.length === 0 ? undefined : new StoreChain(silos);
  }

  locate(oid: string, type: 'tree' | 'blob', role: ObjectLocations['role'], path: string): ObjectLocations {
    const locations: Location[] = [];
    const rel = relative('/', siloLooseFormat.path('/', oid));
    for (const s of this.sources) {
      if (s.silo === undefined) {
        locations.push({ silo: s.ref.spec, kind: 'loose', location: s.place(rel), checked: false });
        continue;
      }
      if (existsSync(siloLooseFormat.path(s.silo.path, oid))) {
        locations.push({ silo: s.ref.spec, kind: 'loose', location: s.place(rel), checked: true });
      }
      for (const pack of s.silo.packs.list()) {
        const offset = pack.find(oidToBytes(oid));
        if (offset !== undefined) locations.push(this.packLocation(s, pack, offset));
      }
    }
    return { oid, type, role, path, locations };
  }

  /** The derived forms of `tree` in the silos we can read. */
  derived(tree: string): DerivedLocation[] {
    return this.sources.flatMap((s) => (s.silo === undefined ? [] : derivedOf(s.silo.path, tree).map((r) => ({
      silo: s.ref.spec, form: r.form, location: s.place(r.file), bytes: r.bytes, sha256: r.sha256,
    }))));
  }

  private packLocation(s: Source, pack: PackFile, offset: number): Location {
    let sorted = this.ends.get(pack);
    if (sorted === undefined) this.ends.set(pack, (sorted = sortedOffsets(pack)));
    const end = entryEnd(pack, sorted, offset);
    const h = pack.entryHeader(offset);
    const entry = h.typeCode === OBJ_OFS_DELTA ? 'ofs-delta' : h.typeCode === OBJ_REF_DELTA ? 'ref-delta' : 'whole';
    return {
      silo: s.ref.spec, kind: 'pack', location: s.place(`pack/${basename(pack.path)}`), checked: true,
      idx: s.place(`pack/${basename(pack.index.src.path)}`),
      offset, length: end - offset, dataOffset: offset + h.headerLength, dataLength: end - offset - h.headerLength, entry,
      ...(h.baseOffset === undefined ? {} : { baseOffset: h.baseOffset }),
      ...(h.baseOid === undefined ? {} : { baseOid: oidFromBytes(h.baseOid) }),
    };
  }

  close(): void {
    for (const s of this.sources) s.silo?.close();
  }
}

/** Locates a .treeptr's root object (and with `all`, every object below it and its meta sidecar). */
export function urlFor(treeptrPath: string, options: UrlForOptions = {}): UrlForResult {
  const t: Treeptr = readTreeptr(treeptrPath);
  const md = MedoDir.containing(treeptrPath);
  const locator = new Locator(md, options.mirrors);
  try {
    const objects: ObjectLocations[] = [locator.locate(rootOid(t), t.tree !== undefined ? 'tree' : 'blob', 'root', '')];
    if (options.all) {
      if (t.meta !== undefined) objects.push(locator.locate(t.meta, 'blob', 'meta', ''));
      if (t.tree !== undefined) {
        const store = locator.store();
        if (store === undefined) {
          throw new MedoError('ERR_STORE_NOT_FOUND', `--all needs to read the tree, and ${md.root}/SILO.json lists no readable silo`, { path: md.root });
        }
        const seen = new Set(objects.map((o) => o.oid));
        for (const e of walkTree(store, t.tree)) {
          if (e.mode === MODE_GITLINK || seen.has(e.oid)) continue;
          seen.add(e.oid);
          objects.push(locator.locate(e.oid, e.mode === MODE_TREE ? 'tree' : 'blob', 'entry', e.path));
        }
      }
    }
    const derived = t.tree === undefined ? [] : locator.derived(t.tree);
    return { treeptr: treeptrPath, medoDir: md.root, objects, derived, notes: [...locator.notes] };
  } finally {
    locator.close();
  }
}
