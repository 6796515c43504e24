#!/usr/bin/env node
// The bundle (scripts/bundle.mjs) starts faster; it is used while it is at least as new as the modules it
// was made from, so a build that did not remake it runs dist/ as it is.
import { statSync } from 'node:fs';

const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
await import(mtime('../dist/cli/medo.bundle.mjs') >= mtime('../dist/cli/medo.js') ? '../dist/cli/medo.bundle.mjs' : '../dist/cli/medo.js');
