// JSON with a stable byte form: keys in a given order first, then the rest sorted, two-space indent,
// trailing newline. Re-writing the same value gives the same bytes, so a re-add of an unchanged tree
// leaves its .treeptr (and git) untouched.

export function canonicalJson(value: unknown, firstKeys: readonly string[] = []): string {
  return `${JSON.stringify(order(value, firstKeys), null, 2)}\n`;
}

function order(value: unknown, firstKeys: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => order(v, []));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  const first = firstKeys.filter((k) => keys.includes(k));
  const rest = keys.filter((k) => !firstKeys.includes(k)).sort();
  // No prototype, so that a key "__proto__" (a file of that name, in a sidecar) is kept as a key.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const k of [...first, ...rest]) out[k] = order(obj[k], []);
  return out;
}
