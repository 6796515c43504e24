// A host fetching from the silo nginx serves: `medo expand` through a medo directory whose SILO.json
// names only the URL, with the bytes taken from nginx's access log around it; and the check that what it
// expanded is the version it asked for, by git's tree id of the directory and by `medo verify`.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitTreeOf } from './git-side.mjs';
import { medo, silo, sync } from './run.mjs';

const DELTA_PACK = /\/derived\/deltas\/[0-9a-f]{40}-[0-9a-f]{40}\.pack$/;

/** What a request fetched, by its path (docs/remote.md, "What a reader fetches"). */
function kindOf(uri) {
  if (uri.endsWith('/pack/packs')) return 'packList';
  if (uri.endsWith('/derived/deltas/index.json')) return 'deltaIndex';
  if (/\/derived\/deltas\/[0-9a-f]{40}\.list$/.test(uri)) return 'deltasTo';
  if (/\/derived\/deltas\/[0-9a-f]{40}-[0-9a-f]{40}\.idx$/.test(uri)) return 'deltaIdx';
  if (DELTA_PACK.test(uri)) return 'deltaPack';
  if (/\/pack\/pack-[0-9a-f]{40}\.idx$/.test(uri)) return 'packIdx';
  if (/\/pack\/pack-[0-9a-f]{40}\.pack$/.test(uri)) return 'packRanges';
  if (/\/objects\/[0-9a-f]{2}\/[0-9a-f]{38}\.gz$/.test(uri)) return 'loose';
  return 'other';
}

/** Body bytes and requests per kind of request. */
function byKind(entries) {
  const out = {};
  for (const e of entries) {
    const k = (out[kindOf(e.uri)] ??= { requests: 0, body: 0 });
    k.requests++;
    k.body += e.body;
  }
  return out;
}

/**
 * `medo expand --delete CLIENT/B.treeptr DEST --cache-dir CACHE`, timed, with what nginx sent for it:
 * { wallMs, cpuMs, body ($body_bytes_sent summed), bytes (headers too), requests, staticDelta (whether a
 * static delta pack was fetched), byKind (body and requests per kind of file), warnings (medo's stderr
 * warnings) }.
 */
export async function expandRemote(ctx, i, dest, cache) {
  await ctx.nginx.bytesSent(); // whatever came before is not this expand's
  sync();
  // MEDO_CACHE_DIR as well: expand's file workers open the store without --cache-dir (a medo bug).
  const t = medo(['expand', '--delete', '--cache-dir', cache, join(ctx.clientMedo, ctx.names[i]), dest], { env: { MEDO_CACHE_DIR: cache } });
  const sent = await ctx.nginx.bytesSent();
  return {
    wallMs: t.wallMs,
    cpuMs: t.cpuMs,
    body: sent.body,
    bytes: sent.bytes,
    requests: sent.requests,
    staticDelta: sent.entries.some((e) => DELTA_PACK.test(e.uri) && e.status === 200),
    byKind: byKind(sent.entries),
    warnings: t.stderr.split('\n').filter((l) => l.includes('warning')),
  };
}

/**
 * A host's cache holding version i and nothing else: `medo prefetch` of it from nginx (bytes not counted),
 * then `silo gc --prune` of the cache down to `medo reachable` of it. The prefetch also caches objects of
 * other versions, the delta bases of i's entries in the repacked pack (git's order: a newer version is
 * whole, an older one a delta against it), which would make the next version look nearly free.
 * Returns how many such objects were pruned. The pack list and the pack's .idx stay cached.
 */
export async function holdVersion(ctx, i, cache) {
  medo(['prefetch', '--cache-dir', cache, join(ctx.clientMedo, ctx.names[i])], { env: { MEDO_CACHE_DIR: cache } });
  await ctx.nginx.bytesSent();
  const keep = join(ctx.work, 'keep.txt');
  writeFileSync(keep, medo(['reachable', join(ctx.serverMedo, ctx.names[i])]).stdout);
  const gc = JSON.parse(silo(['gc', '--prune', '--prune-expire', 'now', '--json', cache, '--keep', keep]).stdout);
  rmSync(keep);
  return gc.unreachable.count;
}

/**
 * Whether `dir` is exactly version i: git's tree id of it (the oracle) and `medo verify` (modes, mtimes,
 * empty directories, which git does not see). Returns problems as text; [] when it is.
 */
export function checkVersion(ctx, i, dir, what) {
  const problems = [];
  const tree = gitTreeOf(ctx.checkRepo, dir, join(ctx.work, 'check.index'));
  if (tree !== ctx.trees[i]) problems.push(`${what}: git sees tree ${tree} in ${dir}, not ${ctx.versions[i].label}'s ${ctx.trees[i]}`);
  const v = medo(['verify', join(ctx.serverMedo, ctx.names[i]), dir], { ok: [0, 1] });
  if (v.status !== 0) problems.push(`${what}: medo verify ${ctx.names[i]} ${dir} exit ${v.status}: ${v.stdout.trim().split('\n').slice(0, 5).join('; ')}`);
  return problems;
}
