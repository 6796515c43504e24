// The medo directory's JSON files: `.treeptr` (lib/medo/treeptr.ts) and SILO.json
// (lib/medo/medo-dir.ts), picked by the first byte. A .treeptr that parses re-serializes to the canonical
// form, which parses to the same value and serializes to the same bytes; SILO.json's silos are each one
// local path or one http(s) URL.
import { isAbsolute } from 'node:path';
import { parseSiloJson } from '../../../lib/medo/medo-dir.js';
import { parseTreeptr, serializeTreeptr } from '../../../lib/medo/treeptr.js';
import { check, checkSame, isRefusal, outcome, target } from '../harness.js';

function treeptr(text: string): void {
  const t = outcome(() => parseTreeptr(text, 'fuzz.treeptr'), ['ERR_SILO_CORRUPT']);
  if (isRefusal(t)) return;
  check((t.tree === undefined) !== (t.blob === undefined), 'not exactly one of tree and blob');
  const canonical = serializeTreeptr(t);
  const again = parseTreeptr(canonical, 'canonical.treeptr');
  checkSame(again, t, 'treeptr after serializeTreeptr');
  check(serializeTreeptr(again) === canonical, 'serializeTreeptr is not stable');
}

function siloJson(text: string): void {
  const silos = outcome(() => parseSiloJson(text, 'SILO.json', '/medo-root'), ['ERR_SILO_CORRUPT']);
  if (isRefusal(silos)) return;
  for (const s of silos) {
    check((s.url === undefined) !== (s.path === undefined), `silo ${JSON.stringify(s)} is not exactly one of path and URL`);
    if (s.url !== undefined) check(/^https?:\/\//.test(s.url) && s.url.endsWith('/'), `URL ${s.url}`);
    else check(isAbsolute(s.path!), `path ${s.path} is not absolute`);
  }
  checkSame(parseSiloJson(JSON.stringify({ version: 1, silos: silos.map((s) => s.spec) }), 'again', '/medo-root'), silos, 'SILO.json after re-writing');
}

export const fuzz = target((data) => {
  const text = data.subarray(1).toString('utf8');
  if ((data[0] ?? 0) & 1) siloJson(text);
  else treeptr(text);
});
