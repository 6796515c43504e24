// `medo prefetch`: warm the host's cache with whole wedges from the remote silos, ahead of a build.
import type { MedoDir } from '../../lib/medo/medo-dir.js';
import { pinFromOldCopy, type OldCopy, type PinReport } from '../../lib/medo/old-copy.js';
import { readTreeptr } from '../../lib/medo/treeptr.js';
import { openCache, parseSize } from '../../lib/remote/cache.js';
import { prefetch } from '../../lib/remote/prefetch.js';
import { fetchDerivedTarballs } from '../../lib/remote/derived-form.js';
import { fetchStaticDeltas } from '../../lib/remote/static-delta.js';
import { RemoteStore } from '../../lib/remote/remote-store.js';
import { treeptrFiles, treeptrRoots } from '../../lib/medo/resolve-target.js';
import { Silo, isSilo } from '../../lib/silo/silo.js';
import { StoreChain } from '../../lib/store-chain.js';
import type { Command } from '../command.js';
import { Progress, formatBytes } from '../progress.js';
import { EXIT_OK, parse, usage } from '../run.js';
import { REMOTE_HELP, REMOTE_OPTIONS, haveTrees, printEvent, remoteSettings, type RemoteValues } from './remote-options.js';

/** The medo directory and the root ids (tree or blob, and metadata sidecars) that `arg` names. */
export function prefetchRoots(arg: string): { medoDir: MedoDir; roots: string[]; treeptrs: number } {
  const { medoDir, files } = treeptrFiles(arg);
  return { medoDir, roots: files.flatMap((f) => treeptrRoots(readTreeptr(f))), treeptrs: files.length };
}

export interface WarmReport {
  cacheDir: string;
  objects: number;
  bytes: number;
  fetched: number;
  fetchedBytes: number;
  /** Whole packs downloaded (--whole-packs). */
  packs: number;
  /** Static deltas applied, and the objects they delivered. */
  staticDeltas: number;
  staticDeltaObjects: number;
  /** Derived tarballs fetched in place of a tree's objects, and the blobs they delivered. */
  derived: number;
  derivedObjects: number;
  requests: number;
  transferred: number;
  /** What came from an expanded older version in the destination (expand only). */
  pinned?: PinReport;
}

/** An expanded older version in an expand's destination, and where the targets go below it. */
export interface OldCopyUse {
  oldCopy: OldCopy;
  roots: { tree: string; rel: string }[];
  /** The old copy is the destination itself (its files at the right paths are left alone), not another directory. */
  inPlace: boolean;
}

/**
 * Makes every object below `roots` readable through medoDir.openStore({ cacheDir }): what the local
 * silos lack is fetched from the remote ones into the cache. Without remote silos it does nothing.
 * Shared by prefetch and expand (which is "prefetch, then the local expand").
 */
export async function warmCache(medoDir: MedoDir, roots: readonly string[], values: RemoteValues & { 'max-size'?: string }, label: string,
  old?: OldCopyUse): Promise<WarmReport> {
  const { cacheDir, options } = remoteSettings(values);
  const report: WarmReport = { cacheDir, objects: 0, bytes: 0, fetched: 0, fetchedBytes: 0, packs: 0, staticDeltas: 0, staticDeltaObjects: 0, derived: 0, derivedObjects: 0, requests: 0, transferred: 0 };
  const urls = medoDir.remoteUrls();
  if (urls.length === 0) return report;
  if (values['max-size'] !== undefined) options.maxCacheBytes = parseSize(values['max-size'], '--max-size');
  const localSilos = medoDir.silos.filter((s) => s.path !== undefined && isSilo(s.path)).map((s) => Silo.open(s.path!));
  const silos = new StoreChain(localSilos, medoDir.root);
  // The old copy's trees count as held (nothing below an unchanged directory is fetched); its blobs are
  // skipped by the walk and serve as static-delta bases, read back and checked when used.
  const local = old === undefined ? silos : new StoreChain([silos, old.oldCopy], medoDir.root);
  const cache = openCache(cacheDir);
  const progress = new Progress(`${label}: fetching (objects)`);
  let shown = 0;
  // A cache that cannot be written (a full disk) fails prefetch and expand, which read from it next: the
  // store goes on (a mount serves what it fetched from memory), so the error is raised between steps.
  let cacheError: NodeJS.ErrnoException | undefined;
  const cacheOk = (): void => {
    if (cacheError !== undefined) throw cacheError;
  };
  const store = new RemoteStore(urls, cache, {
    ...options,
    local,
    onEvent: (e) => {
      if (e.kind === 'cache-failed') {
        const code = (e.error as NodeJS.ErrnoException).code;
        cacheError ??= Object.assign(new Error(`${e.error.message}, writing the cache ${e.path}`), code === undefined ? {} : { code });
        return;
      }
      if (e.kind === 'fetched') {
        report.fetched++;
        report.fetchedBytes += e.bytes;
      } else if (e.kind === 'pack') report.packs++;
      printEvent('medo', e);
    },
  });
  try {
    if (values['no-static-delta'] !== true) {
      const named = haveTrees(values);
      // A --have directory is a version held as well as those named.
      const have = named === undefined || old === undefined || old.inPlace ? named : [...named, old.oldCopy.tree];
      const applied = await fetchStaticDeltas(store, roots, { ...(have === undefined ? {} : { have }), ...(old === undefined ? {} : { also: old.oldCopy }) });
      cacheOk();
      report.staticDeltas = applied.length;
      report.staticDeltaObjects = applied.reduce((n, a) => n + a.objects, 0);
    }
    if (values['no-derived'] !== true) {
      const got = await fetchDerivedTarballs(store, roots, { onNote: (m) => process.stderr.write(`medo: warning: ${m}\n`) });
      for (const d of got) {
        process.stderr.write(`medo: ${d.url}: ${formatBytes(d.bytes)} in place of ${formatBytes(d.packBytes)} of pack entries, ${d.objects} file(s)\n`);
      }
      cacheOk();
      report.derived = got.length;
      report.derivedObjects = got.reduce((n, d) => n + d.objects, 0);
    }
    const r = await prefetch(store, roots, {
      onObject: (p) => {
        progress.tick(p.bytes - shown);
        shown = p.bytes;
      },
      ...(old === undefined ? {} : { skipBlob: (oid: string) => old.oldCopy.hasBlob(oid) }),
    });
    cacheOk();
    if (old !== undefined) {
      report.pinned = pinFromOldCopy(old.oldCopy, old.roots, old.inPlace, {
        holds: (oid) => silos.has(oid) || cache.has(oid),
        held: (oid) => store.held(oid),
        admit: (oid, o) => store.admit(oid, o),
      });
      // Changed on disk since the scan: fetched after all.
      for (const oid of report.pinned.changed) await store.ensure(oid);
      cacheOk();
    }
    store.trim();
    Object.assign(report, { objects: r.objects, bytes: r.bytes, requests: store.http.stats.requests, transferred: store.http.stats.bytes });
    return report;
  } finally {
    progress.done();
    store.close();
    silos.close();
    cache.close();
  }
}

export const prefetchCommand: Command = {
  name: 'prefetch',
  help: `usage: medo prefetch [options] TREEPTR|MEDO_DIR

Makes every object of the .treeptr (or of every .treeptr in the medo directory, or in a folder of one)
present in the host's cache of remote silos, so that medo expand, medo verify and medo mount read it
without the network. Objects in a local silo listed in SILO.json are not copied. Remote silos are asked
in SILO.json order; a 404 or an error falls through to the next. Everything fetched is checked against
its id before it is cached; a server that sends wrong bytes is named on stderr, asked once more
bypassing caches, and then counts as failed for that object. Progress (objects, bytes, rate) is shown
on a terminal.

${REMOTE_HELP}
--max-size SIZE  keep the cache's objects under SIZE (like 10G), evicting the least recently used

Exit 3 when an object could not be fetched intact from any silo.
`,
  async run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true, options: { ...REMOTE_OPTIONS, 'max-size': { type: 'string' } },
    });
    if (positionals.length !== 1) usage('prefetch takes one .treeptr or medo directory');
    const { medoDir, roots, treeptrs } = prefetchRoots(positionals[0]!);
    const r = await warmCache(medoDir, roots, values, 'prefetch');
    process.stdout.write(`${treeptrs} treeptr(s): ${r.objects} objects, ${formatBytes(r.bytes)}; fetched ${r.fetched} objects (${formatBytes(r.fetchedBytes)})` +
      `${r.packs > 0 ? ` and ${r.packs} whole pack(s)` : ''}` +
      `${r.staticDeltas > 0 ? `, ${r.staticDeltaObjects} of them from ${r.staticDeltas} static delta(s)` : ''}` +
      `${r.derived > 0 ? `, ${r.derivedObjects} from ${r.derived} derived tarball(s)` : ''} in ${r.requests} requests (${formatBytes(r.transferred)} transferred) into ${r.cacheDir}\n`);
    return EXIT_OK;
  },
};
