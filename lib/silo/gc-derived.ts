// What `silo gc` does with derived/: the forms and static deltas made from a silo's trees go when the
// trees they serve go, as ostree's prune deletes the static deltas whose target commit is gone.
//
//   derived/forms/TREE.EXT (+ .json)  removed when TREE is not on the keep list
//   derived/deltas/FROM-TO.pack/.idx  removed when TO is not on the keep list; FROM may be gone already:
//                                     a host still holding FROM in its cache is who the delta is for
//
// What interrupted writers left is a stray, removed once older than the cutoff: a derive's scratch
// directory (.derive-*), a form file whose record never landed, a delta pack the index does not list,
// and temp files. The grace rule is the objects' rule: nothing written at or after the cutoff goes.
//
// The order of a removal is the reverse of the write's, so a reader never finds a listing that names a
// missing file it would then report: a form's record goes before its file; a delta leaves TO.list and
// index.json (rewritten, or deleted once empty) before its .idx and .pack. A record or index that does
// not parse is left as it is, with a note: it is not ours to guess what it meant.
import { lstatSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMedoError } from '../errors.js';
import { TEMP_PREFIX, fsyncDir } from '../io/atomic-write.js';
import { FORMS, FORMS_DIR, formFile, parseRecord } from './derive.js';
import { retireFile } from './retire.js';
import { DELTAS_DIR, DELTA_INDEX, deltaPackPath, readDeltaIndex, writeDeltaListings, type StaticDeltaEntry } from './static-delta.js';

export type DerivedKind = 'form' | 'delta' | 'stray';

export interface DerivedPlan {
  kind: DerivedKind;
  /** The files, relative to the silo: a form's file and record, a delta's .pack and .idx, a stray. */
  files: string[];
  /** The tree a form is of, or the tree a delta leads to (TO). */
  tree?: string;
  /** A delta's FROM. */
  from?: string;
  /** A form's kind (tar.gz, squashfs, ...). */
  form?: string;
  bytes: number;
  /** The newest of its files' times. */
  mtimeMs: number;
  action: 'keep' | 'remove' | 'too-recent';
}

export interface DerivedScan {
  items: DerivedPlan[];
  notes: string[];
}

interface FileTime {
  bytes: number;
  mtimeMs: number;
}

function timeOf(path: string): FileTime | undefined {
  try {
    const st = lstatSync(path);
    return { bytes: st.isDirectory() ? 0 : st.size, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** An item of `files` (relative to `silo`; those not there are dropped): kept when wanted, else removed unless too recent. */
function item(silo: string, kind: DerivedKind, files: string[], wanted: boolean, young: (ms: number) => boolean,
  extra: Partial<DerivedPlan> = {}): DerivedPlan {
  let bytes = 0;
  let mtimeMs = -Infinity;
  const present: string[] = [];
  for (const f of files) {
    const t = timeOf(join(silo, f));
    if (t === undefined) continue;
    present.push(f);
    bytes += t.bytes;
    mtimeMs = Math.max(mtimeMs, t.mtimeMs);
  }
  const action = wanted ? 'keep' : young(mtimeMs) ? 'too-recent' : 'remove';
  return { kind, files: present, ...extra, bytes, mtimeMs, action };
}

const FORM_FILE = /^([0-9a-f]{40})\./;

function scanForms(silo: string, keep: ReadonlySet<string>, young: (ms: number) => boolean, out: DerivedScan): void {
  const dir = join(silo, FORMS_DIR);
  const all = names(dir);
  const recorded = new Set<string>();
  for (const n of all) {
    if (!n.endsWith('.json') || n.startsWith('.')) continue;
    const rel = join(FORMS_DIR, n);
    let record;
    try {
      record = parseRecord(readFileSync(join(dir, n), 'utf8'), rel);
    } catch (e) {
      if (!isMedoError(e)) throw e;
      out.notes.push(`left alone: ${e.message}`);
      recorded.add(n.slice(0, -'.json'.length));
      continue;
    }
    recorded.add(record.file.slice(FORMS_DIR.length + 1));
    // The record first: a reader finds a form through its record.
    out.items.push(item(silo, 'form', [rel, record.file], keep.has(record.tree), young, { tree: record.tree, form: record.form }));
  }
  for (const n of all) {
    const rel = join(FORMS_DIR, n);
    if (n.startsWith('.derive-') || n.startsWith(TEMP_PREFIX)) {
      out.items.push(item(silo, 'stray', [rel], false, young));
      continue;
    }
    const m = FORM_FILE.exec(n);
    const isForm = m !== null && FORMS.some((form) => formFile(m[1]!, form) === rel);
    if (isForm && !recorded.has(n)) out.items.push(item(silo, 'stray', [rel], false, young, { tree: m[1]! }));
  }
}

function scanDeltas(silo: string, keep: ReadonlySet<string>, young: (ms: number) => boolean, out: DerivedScan): void {
  const dir = join(silo, DELTAS_DIR);
  const all = names(dir);
  if (all.length === 0) return;
  let entries: StaticDeltaEntry[];
  try {
    entries = readDeltaIndex(silo).deltas;
  } catch (e) {
    if (!isMedoError(e)) throw e;
    out.notes.push(`static deltas left alone: ${e.message}`);
    return;
  }
  const listed = new Set<string>();
  for (const d of entries) {
    const base = deltaPackPath(d.from, d.to);
    listed.add(`${d.pack}.pack`).add(`${d.pack}.idx`);
    out.items.push(item(silo, 'delta', [`${base}.idx`, `${base}.pack`], keep.has(d.to), young, { tree: d.to, from: d.from }));
  }
  const tos = new Set(entries.map((d) => `${d.to}.list`));
  for (const n of all) {
    if (n === DELTA_INDEX || listed.has(n) || tos.has(n)) continue;
    // A pack whose listing never landed, a temp file, or the listing of a TO whose deltas are all gone.
    if (n.startsWith(TEMP_PREFIX) || /^[0-9a-f]{40}-[0-9a-f]{40}\.(pack|idx)$/.test(n) || /^[0-9a-f]{40}\.list$/.test(n)) {
      out.items.push(item(silo, 'stray', [join(DELTAS_DIR, n)], false, young));
    }
  }
}

/** What gc would do with each derived form, static delta and stray under `silo`'s derived/. */
export function scanDerived(silo: string, keep: ReadonlySet<string>, sparedSince: number): DerivedScan {
  const young = (ms: number): boolean => ms >= sparedSince;
  const out: DerivedScan = { items: [], notes: [] };
  scanForms(silo, keep, young, out);
  scanDeltas(silo, keep, young, out);
  return out;
}

/**
 * Removes the items of `scan` marked 'remove' (each file checked once more against `sparedSince` after
 * it is set aside, as the objects are). Returns the items it spared after all.
 */
export function pruneDerived(silo: string, scan: DerivedScan, sparedSince: number): DerivedPlan[] {
  const spared: DerivedPlan[] = [];
  const gone = scan.items.filter((i) => i.action === 'remove');
  const deltas = gone.filter((i) => i.kind === 'delta');
  if (deltas.length > 0) unlistDeltas(silo, deltas);
  const dirs = new Set<string>();
  for (const i of gone) {
    for (const f of i.files) {
      const path = join(silo, f);
      dirs.add(join(path, '..'));
      if (statIsDir(path)) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (retireFile(path, sparedSince) === 'spared' && !spared.includes(i)) spared.push(i);
    }
  }
  for (const d of dirs) fsyncDir(d);
  return spared;
}

function statIsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Rewrites TO.list and index.json without `gone`: the listings change before any file goes. */
function unlistDeltas(silo: string, gone: readonly DerivedPlan[]): void {
  const drop = new Set(gone.map((i) => `${i.from}-${i.tree}`));
  const index = readDeltaIndex(silo);
  index.deltas = index.deltas.filter((d) => !drop.has(d.pack));
  writeDeltaListings(silo, index, gone.map((i) => i.tree!));
}

/**
 * A note when the silo browser's catalog (browse/catalog.json) shows trees the keep list leaves out: their
 * pages stop working once the trees are pruned, until `silo publish --browser` is run again.
 */
export function catalogNote(silo: string, keep: ReadonlySet<string>): string | undefined {
  let catalog: unknown;
  try {
    catalog = JSON.parse(readFileSync(join(silo, 'browse', 'catalog.json'), 'utf8'));
  } catch {
    return undefined; // none, or not ours to read: the page reports what it cannot load
  }
  const trees = new Set<string>();
  const wedges = (catalog as { wedges?: unknown }).wedges;
  for (const w of Array.isArray(wedges) ? wedges as { treeptr?: { tree?: unknown }; history?: { treeptr?: { tree?: unknown } }[] }[] : []) {
    for (const t of [w?.treeptr, ...(Array.isArray(w?.history) ? w.history.map((h) => h?.treeptr) : [])]) {
      if (typeof t?.tree === 'string') trees.add(t.tree);
    }
  }
  const dropped = [...trees].filter((t) => !keep.has(t));
  if (dropped.length === 0) return undefined;
  return `browse/catalog.json shows ${dropped.length} tree(s) the keep list does not name (${dropped.slice(0, 3).map((t) => t.slice(0, 12)).join(', ')}` +
    `${dropped.length > 3 ? ', ...' : ''}): their pages fail once they are pruned; run 'silo publish --browser' again`;
}
