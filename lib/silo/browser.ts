// The silo browser (docs/browser.md): a static page written into SILO/browse/ that reads the silo it sits
// in over HTTP (browser/silo-reader.js), and the catalog of .treeptr files it shows. A silo holds no
// .treeptr files (they live in git, in medo directories), so `silo publish --browser --medo DIR` records
// each one found below DIR, with its git history where DIR is in a git repository.
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { MedoError, isMedoError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { MedoDir } from '../medo/medo-dir.js';
import { treeptrLog, type LogEntry } from '../medo/treeptr-log.js';
import { readTreeptr, type Treeptr } from '../medo/treeptr.js';
import { findUpward } from '../native.js';

export const BROWSER_DIR = 'browse';
export const CATALOG_FORMAT = 'medo-browser-catalog';
/** The page's files, served as they are from the repository's browser/ directory. */
export const BROWSER_FILES = ['index.html', 'app.js', 'silo-reader.js', 'sha1.js'] as const;

export interface CatalogWedge {
  /** The medo directory's name (its last path component). */
  medo: string;
  /** The .treeptr's path inside it, '/'-separated. */
  path: string;
  treeptr: Treeptr;
  /** Each commit that changed the .treeptr, newest first; absent when the directory is not in git. */
  history?: Omit<LogEntry, 'blob' | 'author'>[];
}

export interface Catalog {
  format: typeof CATALOG_FORMAT;
  version: 1;
  wedges: CatalogWedge[];
}

/** The browser/ directory of this installation (dist/lib/silo/ and lib/silo/ are at different depths). */
function browserSource(): string {
  const reader = findUpward(join('browser', 'silo-reader.js'));
  if (reader === undefined) throw new MedoError('ERR_INTERNAL', 'the silo browser\'s files (browser/) are missing from this installation');
  return dirname(reader);
}

/** Every .treeptr of each medo directory, with its history. */
export function buildCatalog(medoDirs: readonly string[]): Catalog {
  const wedges: CatalogWedge[] = [];
  for (const d of medoDirs) {
    const medo = MedoDir.open(d);
    const name = basename(medo.root);
    for (const rel of medo.treeptrs()) {
      const file = join(medo.root, rel);
      const wedge: CatalogWedge = { medo: name, path: rel.split(sep).join('/'), treeptr: readTreeptr(file) };
      try {
        wedge.history = treeptrLog(file).map(({ blob: _blob, author: _author, ...rest }) => rest);
      } catch (e) {
        // Not in a git repository, or not committed yet: the catalog has the file as it is.
        if (!isMedoError(e)) throw e;
      }
      wedges.push(wedge);
    }
  }
  return { format: CATALOG_FORMAT, version: 1, wedges };
}

/** Writes the page and its catalog into SILO/browse/; returns the catalog. */
export function publishBrowser(siloDir: string, medoDirs: readonly string[]): Catalog {
  const catalog = buildCatalog(medoDirs);
  const src = browserSource();
  const out = join(siloDir, BROWSER_DIR);
  mkdirSync(out, { recursive: true });
  for (const f of BROWSER_FILES) writeFileAtomic(join(out, f), readFileSync(join(src, f)));
  writeFileAtomic(join(out, 'catalog.json'), `${JSON.stringify(catalog, null, 2)}\n`);
  return catalog;
}
