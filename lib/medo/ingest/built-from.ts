// The provenance of a derived tree, as given to `medo add --built-from FILE.json`: the same object as
// a .treeptr's "built_from" ({inputs, base, command, env}), checked field by field.
import { JsonChecker } from '../json-check.js';
import type { BuiltFrom } from '../treeptr.js';

const KEYS = new Set(['inputs', 'base', 'command', 'env']);

export function parseBuiltFrom(text: string, file: string): BuiltFrom {
  const c = new JsonChecker(file, 'ERR_USAGE');
  const j = c.parse(text);
  for (const k of Object.keys(j)) if (!KEYS.has(k)) c.fail(k, 'is not a built_from field (inputs, base, command, env)');
  const b: BuiltFrom = {};
  if (j.inputs !== undefined) {
    if (!Array.isArray(j.inputs)) c.fail('inputs', 'must be an array of strings');
    b.inputs = (j.inputs as unknown[]).map((v, i) => c.string(`inputs[${i}]`, v));
  }
  if (j.base !== undefined) b.base = c.string('base', j.base);
  if (j.command !== undefined) b.command = c.string('command', j.command);
  if (j.env !== undefined) {
    const env = c.object('env', j.env);
    b.env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, c.string(`env.${k}`, v)]));
  }
  return b;
}
