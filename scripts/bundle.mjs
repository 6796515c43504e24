#!/usr/bin/env node
// Bundles each command (dist/cli/medo.js, dist/cli/silo.js and the lib/ and daemon/ modules they load)
// into one file, dist/cli/NAME.bundle.mjs, after `tsc`: Node 20 has no compile cache, and loading ~65
// modules one file at a time was a third of `medo mount`'s start-up (issue 17: ready in 150 ms). Packages
// under node_modules stay outside (loaded as usual); worker entries and the native addons are found from
// the checkout's root (lib/native.ts findUpward), so they work from the bundle too. bin/medo.js and
// bin/silo.js run a bundle only while it is newer than its dist/cli/NAME.js: a `tsc` without this step
// falls back to dist/.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The build to bundle: dist/ unless named (bench/suite/build.mjs bundles its private build).
const dist = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
await build({
  entryPoints: ['medo', 'silo'].map((name) => ({ in: join(dist, 'cli', `${name}.js`), out: `${name}.bundle` })),
  outdir: join(dist, 'cli'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
