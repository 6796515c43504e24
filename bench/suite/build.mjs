// A private build of medo for the run: colleagues rebuilding dist/ or build/ while the suite runs must not
// change the code under measurement halfway (as in bench/mount.mjs). The native addons are copied, not
// linked, for the same reason; lib/native.ts finds them in build/Release above dist's lib/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './proc.mjs';

export function privateBuild(root, out) {
  const dist = join(out, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.json'), '--outDir', dist], { encoding: 'utf8' });
  if (tsc.status !== 0) log(`tsc reported errors (building anyway, as tsc emits regardless):\n${(tsc.stdout + tsc.stderr).trim().split('\n').slice(0, 5).join('\n')}`);
  for (const f of ['cli/medo.js', 'cli/silo.js']) {
    if (!existsSync(join(dist, f))) throw new Error(`the private build in ${dist} has no ${f}: is typescript installed (scripts/setup.sh)?`);
  }
  // Bundled as bin/medo.js runs it (scripts/bundle.mjs): start-up is part of what the suite measures.
  const bundle = spawnSync(process.execPath, [join(root, 'scripts', 'bundle.mjs'), dist], { encoding: 'utf8' });
  if (bundle.status !== 0) throw new Error(`scripts/bundle.mjs failed on the private build:\n${(bundle.stdout + bundle.stderr).trim()}`);
  const release = join(root, 'build', 'Release');
  const addons = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.node')) : [];
  mkdirSync(join(dist, 'build', 'Release'), { recursive: true });
  for (const f of addons) copyFileSync(join(release, f), join(dist, 'build', 'Release', f));
  return { dist, medo: join(dist, 'cli', 'medo.bundle.mjs'), silo: join(dist, 'cli', 'silo.bundle.mjs'), addons };
}
