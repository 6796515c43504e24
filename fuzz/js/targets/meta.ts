// The metadata sidecar (lib/medo/meta.ts, lib/medo/meta-index.ts). TreeMeta.parse reads the shape medo
// writes with its own scanner, anything else through JSON.parse; the two must answer alike. Each input is
// also parsed in a form the scanner refuses by construction (an extra "paths" member first, which the
// input's own "paths" then replaces, as JSON says the later member does). A sidecar whose entries all read
// serializes to a canonical form that parses to the same answers and serializes to the same bytes.
import { TreeMeta } from '../../../lib/medo/meta.js';
import { check, checkSame, isRefusal, outcome, target } from '../harness.js';

const CODES = ['ERR_OBJECT_CORRUPT'] as const;

/** What a sidecar answers: get() of each path, entries() and paths (sorted), empty_dirs; or the code thrown. */
function answers(text: string | Buffer, paths: readonly string[]): unknown {
  const meta = outcome(() => TreeMeta.parse(text, 'fuzz.meta'), CODES);
  if (isRefusal(meta)) return meta;
  const sorted = <T>(a: [string, T][]): [string, T][] => a.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return {
    get: paths.map((p) => [p, outcome(() => meta.get(p) ?? null, CODES)]),
    entries: outcome(() => sorted([...meta.entries()]), CODES),
    paths: outcome(() => sorted([...meta.paths]), CODES),
    emptyDirs: [...meta.emptyDirs].sort(),
  };
}

/** The input with `"paths": {"": [1, "x"]}` as its first member, or undefined when it has no "paths" object. */
function scannerRefuses(text: string, json: unknown): string | undefined {
  const paths = (json as { paths?: unknown } | null)?.paths;
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof paths !== 'object' || paths === null || Array.isArray(paths)) return undefined;
  const open = text.indexOf('{');
  const rest = text.slice(open + 1);
  return `{"paths": {"": [1, "x"]}${/^\s*\}/.test(rest) ? '' : ','}${rest}`;
}

export const fuzz = target((data) => {
  const text = data.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON at all: the scanner may not accept what JSON.parse refuses.
    check(isRefusal(outcome(() => TreeMeta.parse(data, 'fuzz.meta'), CODES)), 'a sidecar that is not JSON parsed');
    return;
  }
  const paths = Object.keys((json as { paths?: object } | null)?.paths ?? {});
  // The bytes as given and as a string (both reach the scanner); invalid UTF-8 is replaced in the string.
  const mine = answers(text, paths);
  if (Buffer.from(text, 'utf8').equals(data)) checkSame(answers(data, paths), mine, 'parse of the bytes and of the string differ');
  const variant = scannerRefuses(text, json);
  if (variant !== undefined) checkSame(answers(variant, paths), mine, 'the scanner and JSON.parse read the sidecar differently');

  const meta = outcome(() => TreeMeta.parse(text, 'fuzz.meta'), CODES);
  if (isRefusal(meta) || isRefusal(outcome(() => meta.paths, CODES))) return;
  const canonical = meta.serialize();
  checkSame(answers(canonical, paths), mine, 'sidecar after serialize');
  check(TreeMeta.parse(canonical, 'canonical.meta').serialize() === canonical, 'serialize is not stable');
});
