// Part 3, upgrading an expanded A to B in place (`medo expand B DEST` over DEST holding A, the static
// delta published) against a full expand of B into an empty DEST; both from nginx with an empty cache.
// DEST's copy of A is expanded from the server's local silo, untimed, before each rep. Which of the two
// goes first alternates; each result must be B (git's tree id, medo verify).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkVersion, expandRemote } from './client.mjs';
import { medo } from './run.mjs';

export async function measureUpgrades(ctx, reps, problems, log) {
  const cache = join(ctx.work, 'cache');
  const records = [];
  for (let from = 0; from + 1 < ctx.versions.length; from++) {
    const to = from + 1;
    const rec = { from: ctx.versions[from].label, to: ctx.versions[to].label, upgrade: [], full: [] };
    log(`${ctx.name}: ${rec.from} -> ${rec.to}: upgrade in place against a full expand, ${reps} rep(s)`);
    const runs = {
      upgrade: async () => {
        const dest = join(ctx.work, 'upgrade');
        rmSync(dest, { recursive: true, force: true });
        medo(['expand', join(ctx.serverMedo, ctx.names[from]), dest]);
        rmSync(cache, { recursive: true, force: true });
        const r = await expandRemote(ctx, to, dest, cache);
        if (!r.staticDelta) problems.push(`${ctx.name}: upgrade ${rec.from} -> ${rec.to} in place did not fetch the static delta ${r.warnings.join('; ')}`);
        problems.push(...checkVersion(ctx, to, dest, `${ctx.name} upgrade in place to ${rec.to}`));
        rmSync(dest, { recursive: true, force: true });
        return r;
      },
      full: async () => {
        const dest = join(ctx.work, 'full');
        rmSync(dest, { recursive: true, force: true });
        rmSync(cache, { recursive: true, force: true });
        const r = await expandRemote(ctx, to, dest, cache);
        problems.push(...checkVersion(ctx, to, dest, `${ctx.name} full expand of ${rec.to}`));
        rmSync(dest, { recursive: true, force: true });
        return r;
      },
    };
    for (let rep = 0; rep < reps; rep++) {
      for (const kind of rep % 2 === 0 ? ['upgrade', 'full'] : ['full', 'upgrade']) rec[kind].push(await runs[kind]());
    }
    rmSync(cache, { recursive: true, force: true });
    records.push(rec);
  }
  return records;
}
