#!/usr/bin/env node
// The hottest functions of a V8 .cpuprofile (`node --cpu-prof ...`), by self and by inclusive time, with
// positions mapped through dist/'s source maps back to lib/ and cli/ TypeScript, and the hottest lines of
// the top functions. Usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [--top N]
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '20' } } });
if (positionals.length !== 1) throw new Error('usage: cpuprofile-top.mjs FILE.cpuprofile [--top N]');
const top = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));

const maps = new Map();
function sourceMapOf(url) {
  if (!maps.has(url)) {
    let map = null;
    if (url.startsWith('file://')) {
      const file = `${fileURLToPath(url)}.map`;
      if (existsSync(file)) map = { map: new SourceMap(JSON.parse(readFileSync(file, 'utf8'))), dir: dirname(file) };
    }
    maps.set(url, map);
  }
  return maps.get(url);
}

/** `file:line` of a generated 0-based position, in the original source when a source map knows it. */
function where(url, line0, column0) {
  const m = sourceMapOf(url);
  const entry = m?.map.findEntry(line0, column0);
  if (entry?.originalSource) {
    // tsc writes `sources` relative to the map file.
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(m.dir, entry.originalSource);
    return `${relative(process.cwd(), source)}:${entry.originalLine + 1}`;
  }
  if (url === '') return '(native)';
  return `${url.startsWith('file://') ? relative(process.cwd(), fileURLToPath(url)) : url}:${line0 + 1}`;
}

// Self time per node: each sample's time delta goes to the node sampled.
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const keyOf = (n) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url, n.callFrame.lineNumber, n.callFrame.columnNumber)}`;
const functions = new Map();
const fn = (key) => {
  if (!functions.has(key)) functions.set(key, { key, self: 0, inclusive: 0, lines: new Map() });
  return functions.get(key);
};

// Walk from the root; inclusive time counts a function once per stack even when it recurses.
function walk(id, onStack) {
  const n = nodes.get(id);
  const key = keyOf(n);
  const f = fn(key);
  const own = self.get(id) ?? 0;
  f.self += own;
  const ticks = (n.positionTicks ?? []).reduce((a, t) => a + t.ticks, 0);
  for (const t of n.positionTicks ?? []) {
    // positionTicks lines are 1-based; a late column finds the last mapping on that generated line.
    const at = where(n.callFrame.url, t.line - 1, 10_000);
    f.lines.set(at, (f.lines.get(at) ?? 0) + (own * t.ticks) / ticks);
  }
  let subtree = own;
  const inner = onStack.has(key) ? onStack : new Set(onStack).add(key);
  for (const c of n.children ?? []) subtree += walk(c, inner);
  if (!onStack.has(key)) f.inclusive += subtree;
  return subtree;
}
walk(profile.nodes[0].id, new Set());

const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
const ms = (t) => `${(t / 1000).toFixed(0).padStart(6)} ms`;
const all = [...functions.values()];
console.log(`${positionals[0]}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log(`\ntop ${top} by self time`);
for (const f of all.sort((a, b) => b.self - a.self).slice(0, top)) {
  console.log(`${pct(f.self)} ${ms(f.self)}  ${f.key}`);
  const lines = [...f.lines].sort((a, b) => b[1] - a[1]).slice(0, 3).filter(([, t]) => t >= total / 200);
  for (const [at, t] of lines) console.log(`${' '.repeat(18)}${pct(t)}  line ${at}`);
}
console.log(`\ntop ${top} by inclusive time`);
for (const f of all.sort((a, b) => b.inclusive - a.inclusive).slice(0, top)) console.log(`${pct(f.inclusive)} ${ms(f.inclusive)}  ${f.key}`);
