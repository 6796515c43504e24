#!/usr/bin/env node
// As bin/medo.js: the bundle (scripts/bundle.mjs) while it is at least as new as dist/cli/silo.js.
import { statSync } from 'node:fs';

const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
await import(mtime('../dist/cli/silo.bundle.mjs') >= mtime('../dist/cli/silo.js') ? '../dist/cli/silo.bundle.mjs' : '../dist/cli/silo.js');
