// Part 2, bytes moved to go from version A to B, for each consecutive pair: a host whose cache holds A
// expands B from nginx (a) object by object, before any static delta is published, and (b) once `silo
// delta A B` is; against (c) git's thin pack of B ^A and (d) `zstd --patch-from` of B's tar against A's.
// (a) and (b) are nginx's $body_bytes_sent summed over the expand's requests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkVersion, expandRemote, holdVersion } from './client.mjs';
import { gitThinPack } from './git-side.mjs';
import { silo, timed } from './run.mjs';

const copy = (from, to) => {
  rmSync(to, { recursive: true, force: true });
  execFileSync('cp', ['-a', from, to]);
};

/** A tar of `dir` that depends only on its content: names sorted, owners numeric 0, GNU format. */
function deterministicTar(dir, file) {
  execFileSync('tar', ['--sort=name', '--format=gnu', '--numeric-owner', '--owner=0', '--group=0', '-cf', file, '-C', dir, '.']);
  return statSync(file).size;
}

function zstdPatch(a, b, scratch) {
  mkdirSync(scratch, { recursive: true });
  const [aTar, bTar, patch] = ['a.tar', 'b.tar', 'b.tar.zst'].map((f) => join(scratch, f));
  const aBytes = deterministicTar(a.dir, aTar);
  const bBytes = deterministicTar(b.dir, bTar);
  const t = timed('zstd', ['-q', '-f', '--long=31', `--patch-from=${aTar}`, '-19', bTar, '-o', patch]);
  const bytes = statSync(patch).size;
  rmSync(scratch, { recursive: true, force: true });
  return { bytes, wallMs: t.wallMs, aTarBytes: aBytes, bTarBytes: bBytes };
}

/** Pairs (i, i + 1) of the chain; returns one record per pair and pushes what is wrong to `problems`. */
export async function measureTransfers(ctx, problems, log) {
  const pairs = ctx.versions.slice(1).map((_, i) => ({ from: i, to: i + 1 }));
  const held = (p) => join(ctx.work, `cache-held-${p.from}`);
  const cache = join(ctx.work, 'cache');
  const dest = join(ctx.work, 'dest');
  const expandFromHeld = async (p, what) => {
    copy(held(p), cache);
    rmSync(dest, { recursive: true, force: true });
    const r = await expandRemote(ctx, p.to, dest, cache);
    problems.push(...checkVersion(ctx, p.to, dest, `${ctx.name} ${what} ${ctx.versions[p.to].label}`));
    rmSync(dest, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
    return r;
  };
  const records = pairs.map((p) => ({ from: ctx.versions[p.from].label, to: ctx.versions[p.to].label }));
  for (const [k, p] of pairs.entries()) {
    log(`${ctx.name}: ${records[k].from} -> ${records[k].to}: object by object, no static delta published`);
    records[k].heldExtraPruned = await holdVersion(ctx, p.from, held(p));
    records[k].perObject = await expandFromHeld(p, 'per-object expand of');
    if (records[k].perObject.staticDelta) problems.push(`${ctx.name}: a static delta was fetched before any was published`);
  }
  for (const [k, p] of pairs.entries()) {
    const t = silo(['delta', '--json', join(ctx.serverMedo, ctx.names[p.from]), join(ctx.serverMedo, ctx.names[p.to])]);
    const d = JSON.parse(t.stdout);
    records[k].deltaMade = { wallMs: t.wallMs, cpuMs: t.cpuMs, packBytes: d.entry.packBytes, idxBytes: d.entry.idxBytes, objects: d.entry.objects, deltas: d.deltas, whole: d.whole };
  }
  for (const [k, p] of pairs.entries()) {
    log(`${ctx.name}: ${records[k].from} -> ${records[k].to}: static delta; git thin pack; zstd --patch-from`);
    records[k].staticDelta = await expandFromHeld(p, 'static-delta expand of');
    // A published delta from a version the host holds whole is always taken (lib/remote/static-delta.ts):
    // not fetching it is a fault, and (b) would then measure (a) again.
    if (!records[k].staticDelta.staticDelta) {
      problems.push(`${ctx.name}: ${records[k].to}: the expand did not fetch the static delta from ${records[k].from} ${records[k].staticDelta.warnings.join('; ')}`);
    }
    rmSync(held(p), { recursive: true, force: true });
    records[k].git = gitThinPack(ctx.gitRepo, ctx.commits[p.from], ctx.commits[p.to]);
    records[k].zstd = zstdPatch(ctx.versions[p.from], ctx.versions[p.to], join(ctx.work, 'tar'));
  }
  return records;
}
