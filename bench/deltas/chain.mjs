// One chain of versions through the three parts of the deltas benchmark, in a scratch directory of its
// own: the stores (part 1), then nginx serving the silo medo repacked (parts 2 and 3).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startNginx } from '../nginx.mjs';
import { checkRepo, commitVersions, objectBytes } from './git-side.mjs';
import { addVersions, gitRepackCopy, medoRepack, verifySiloPacks } from './storage.mjs';
import { measureTransfers } from './transfer.mjs';
import { measureUpgrades } from './upgrade.mjs';

/** Parts 1-3 for `versions` (from prepareChain); what is wrong goes to `problems`. */
export async function runChain(name, versions, { work, reps, log, problems }) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const rec = { name, versions: versions.map((v) => ({ label: v.label, source: v.source })) };

  log(`${name}: medo add of ${versions.length} versions, whole (--no-delta-base), then each against the one before`);
  const whole = addVersions(versions, join(work, 'whole.medo'), join(work, 'whole.silo'), { whole: true });
  const trees = whole.treeptrs.map((t) => t.tree);
  whole.treeptrs.forEach((t, i) => Object.assign(rec.versions[i], { tree: t.tree, files: t.files, size: t.size }));
  const added = addVersions(versions, join(work, 'added.medo'), join(work, 'added.silo'), { whole: false });
  added.treeptrs.forEach((t, i) => {
    if (t.tree !== trees[i]) problems.push(`${name}: ${versions[i].label}: medo add with a delta base gave tree ${t.tree}, whole ${trees[i]}`);
  });
  rmSync(join(work, 'added.silo'), { recursive: true, force: true });

  log(`${name}: git commit of every version (the tree ids must be medo's), packed whole`);
  const commits = commitVersions(join(work, 'git-whole.git'), versions, trees, work);
  rec.storage = {
    wholeAdds: whole.adds, wholeBytes: whole.bytes, deltaBaseAdds: added.adds, deltaBaseBytes: added.bytes,
    gitWholeBytes: objectBytes(join(work, 'git-whole.git')), medo: [], git: [],
  };
  for (let rep = 0; rep < reps; rep++) {
    log(`${name}: silo repack -f and git repack -a -d -f --window=250 --depth=50, rep ${rep + 1}/${reps}`);
    for (const tool of rep % 2 === 0 ? ['medo', 'git'] : ['git', 'medo']) {
      if (tool === 'medo') rec.storage.medo.push(medoRepack(join(work, 'whole.silo'), join(work, 'repack.silo')));
      else rec.storage.git.push(gitRepackCopy(join(work, 'git-whole.git'), join(work, 'git.git')));
    }
  }
  rec.storage.verifyPack = verifySiloPacks(join(work, 'repack.silo'));
  for (const v of rec.storage.verifyPack) if (!v.ok) problems.push(`${name}: git verify-pack of the repacked silo's ${v.pack}: ${v.error}`);

  // The server: the silo medo repacked, under nginx's root; its medo directory (for `silo delta` and
  // verify) and a client's, whose SILO.json names the URL only.
  const www = join(work, 'www');
  mkdirSync(www);
  renameSync(join(work, 'repack.silo'), join(www, 'silo'));
  const serverMedo = join(work, 'server.medo');
  const clientMedo = join(work, 'client.medo');
  mkdirSync(serverMedo);
  writeFileSync(join(serverMedo, 'SILO.json'), JSON.stringify({ silos: [join(www, 'silo')] }));
  mkdirSync(clientMedo);
  const names = whole.treeptrs.map((t) => basename(t.path));
  for (const n of names) {
    const text = readFileSync(join(work, 'whole.medo', n));
    writeFileSync(join(serverMedo, n), text);
    writeFileSync(join(clientMedo, n), text);
  }
  const nginx = await startNginx({ root: www, dir: join(work, 'nginx'), accessLog: true });
  try {
    writeFileSync(join(clientMedo, 'SILO.json'), JSON.stringify({ silos: [`${nginx.origin}/silo/`] }));
    const ctx = {
      name, work, versions, trees, commits, names, nginx, serverMedo, clientMedo,
      gitRepo: join(work, 'git.git'), checkRepo: checkRepo(join(work, 'check.git'), join(work, 'git.git')),
    };
    rec.transfer = await measureTransfers(ctx, problems, log);
    rec.upgrade = await measureUpgrades(ctx, reps, problems, log);
  } finally {
    await nginx.stop();
  }
  return rec;
}
