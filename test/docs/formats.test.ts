// docs/formats.md and docs/schemas/ against what medo really writes. JSON Schema is checked by a small
// validator for exactly the keywords the schemas use (no new dependency); an unknown keyword fails the
// test, so a schema cannot silently outgrow the validator.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { medoAdd } from '../../lib/medo/ingest/add.js';
import { parseSiloJson } from '../../lib/medo/medo-dir.js';
import { TreeMeta } from '../../lib/medo/meta.js';
import { parseTreeptr, serializeTreeptr } from '../../lib/medo/treeptr.js';
import { Silo } from '../../lib/silo/silo.js';
import { tempDir } from '../helpers/git-fixture.js';
import { RICH_TREE, makeMedo, makeTree } from '../helpers/tree-fixture.js';

const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));
type Schema = Record<string, unknown>;

function loadSchema(name: string): Schema {
  return JSON.parse(readFileSync(join(DOCS, 'schemas', `${name}.schema.json`), 'utf8')) as Schema;
}

const IGNORED = new Set(['$schema', '$id', 'title', 'description', '$defs']);

/** Problems of `value` against `schema` (empty when valid). */
function validate(value: unknown, schema: Schema, root: Schema = schema, at = '$'): string[] {
  const errs: string[] = [];
  const type = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v);
  for (const [k, s] of Object.entries(schema)) {
    if (IGNORED.has(k)) continue;
    const obj = value as Record<string, unknown>;
    switch (k) {
      case 'type': if (type(value) !== s && !(s === 'number' && typeof value === 'number')) errs.push(`${at}: not ${s as string}`); break;
      case 'const': if (JSON.stringify(value) !== JSON.stringify(s)) errs.push(`${at}: not ${JSON.stringify(s)}`); break;
      case 'required': if (type(value) === 'object') for (const r of s as string[]) if (!(r in obj)) errs.push(`${at}: missing ${r}`); break;
      case 'properties':
        if (type(value) === 'object') for (const [p, ps] of Object.entries(s as Record<string, Schema>)) if (p in obj) errs.push(...validate(obj[p], ps, root, `${at}.${p}`));
        break;
      case 'additionalProperties':
        if (type(value) !== 'object') break;
        for (const p of Object.keys(obj)) {
          if (p in ((schema.properties ?? {}) as object)) continue;
          if (s === false) errs.push(`${at}: unexpected key ${p}`);
          else errs.push(...validate(obj[p], s as Schema, root, `${at}.${p}`));
        }
        break;
      case 'propertyNames': if (type(value) === 'object') for (const p of Object.keys(obj)) errs.push(...validate(p, s as Schema, root, `${at}[key ${JSON.stringify(p)}]`)); break;
      case 'items': if (Array.isArray(value)) value.forEach((v, i) => errs.push(...validate(v, s as Schema, root, `${at}[${i}]`))); break;
      case 'prefixItems': if (Array.isArray(value)) (s as Schema[]).forEach((ps, i) => { if (i < value.length) errs.push(...validate(value[i], ps, root, `${at}[${i}]`)); }); break;
      case 'minItems': if (Array.isArray(value) && value.length < (s as number)) errs.push(`${at}: fewer than ${s} items`); break;
      case 'maxItems': if (Array.isArray(value) && value.length > (s as number)) errs.push(`${at}: more than ${s} items`); break;
      case 'uniqueItems': if (Array.isArray(value) && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) errs.push(`${at}: duplicate items`); break;
      case 'minimum': if (typeof value === 'number' && value < (s as number)) errs.push(`${at}: below ${s}`); break;
      case 'maximum': if (typeof value === 'number' && value > (s as number)) errs.push(`${at}: above ${s}`); break;
      case 'minLength': if (typeof value === 'string' && [...value].length < (s as number)) errs.push(`${at}: shorter than ${s}`); break;
      case 'pattern': if (typeof value === 'string' && !new RegExp(s as string, 'u').test(value)) errs.push(`${at}: does not match ${s}`); break;
      case 'oneOf': {
        const ok = (s as Schema[]).filter((o) => validate(value, o, root, at).length === 0).length;
        if (ok !== 1) errs.push(`${at}: matches ${ok} of oneOf, not exactly 1`);
        break;
      }
      case 'allOf': for (const o of s as Schema[]) errs.push(...validate(value, o, root, at)); break;
      case '$ref': {
        const m = /^#\/\$defs\/(.+)$/.exec(s as string);
        if (!m) throw new Error(`unsupported $ref ${s}`);
        errs.push(...validate(value, (root.$defs as Record<string, Schema>)[m[1]!]!, root, at));
        break;
      }
      default:
        throw new Error(`the test's validator does not know the keyword ${k}`);
    }
  }
  return errs;
}

function assertValid(t: import('ava').ExecutionContext, name: string, value: unknown, label: string): void {
  t.deepEqual(validate(value, loadSchema(name)), [], `${label} against ${name}.schema.json`);
}

function examples(): { name: string; text: string }[] {
  const md = readFileSync(join(DOCS, 'formats.md'), 'utf8');
  return [...md.matchAll(/<!-- example: ([\w-]+) -->\n```json\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, text: m[2]! }));
}

test('every example in docs/formats.md is valid, and medo reads it', (t) => {
  const found = examples();
  t.deepEqual([...new Set(found.map((e) => e.name))].sort(), ['meta', 'silo', 'silo-marker', 'treeptr']);
  for (const { name, text } of found) {
    assertValid(t, name, JSON.parse(text), `example ${name}`);
    if (name === 'treeptr') t.is(serializeTreeptr(parseTreeptr(text, 'example')), text, 'a treeptr example is in the exact byte form');
    if (name === 'meta') t.notThrows(() => TreeMeta.parse(text, 'example'));
    if (name === 'silo') t.is(parseSiloJson(text, 'SILO.json', '/m').length, 2);
  }
});

test('what silo init and medo add write is valid against the schemas', async (t) => {
  const dir = tempDir(t);
  const { medo, silo } = makeMedo(dir);
  assertValid(t, 'silo-marker', JSON.parse(readFileSync(join(silo, 'medo-silo.json'), 'utf8')), 'medo-silo.json');
  assertValid(t, 'silo', JSON.parse(readFileSync(join(medo, 'SILO.json'), 'utf8')), 'SILO.json');
  const src = join(dir, 'src');
  makeTree(src, [...RICH_TREE, { path: '10', file: 'integer-like name' }]);
  const tree = await medoAdd({ src, out: join(medo, 'rich.treeptr'), url: 'https://example.org/x',
    builtFrom: { inputs: ['a.treeptr'], base: 'b', command: 'c', env: { K: 'V' } } });
  const file = join(dir, 'file.bin');
  writeFileSync(file, 'blob');
  await medoAdd({ src: file, out: join(medo, 'blob.treeptr'), blob: true, url: 'https://example.org/file.bin' });
  for (const p of ['rich.treeptr', 'blob.treeptr']) assertValid(t, 'treeptr', JSON.parse(readFileSync(join(medo, p), 'utf8')), p);
  const s = Silo.open(silo);
  try {
    assertValid(t, 'meta', JSON.parse(s.read(tree.meta!)!.content.toString('utf8')), 'the sidecar');
  } finally {
    s.close();
  }
});

test('the schemas reject what medo would refuse', (t) => {
  const ptr = { format: 'medo-treeptr', version: 1, tree: 'a'.repeat(40), size: 1, files: 1 };
  t.deepEqual(validate(ptr, loadSchema('treeptr')), []);
  for (const bad of [{ ...ptr, blob: 'b'.repeat(40) }, { ...ptr, tree: 'A'.repeat(40) }, { ...ptr, size: -1 }, { ...ptr, extra: 1 },
    { ...ptr, source: { sha256: 'abc' } }, { ...ptr, version: 2 }]) {
    t.not(validate(bad, loadSchema('treeptr')).length, 0, JSON.stringify(bad));
  }
  const meta = { format: 'medo-meta', version: 1, paths: { '': [493, 0], 'a/b': [420, -5, 7] }, empty_dirs: ['e'] };
  t.deepEqual(validate(meta, loadSchema('meta')), []);
  for (const paths of [{ '../x': [420, 0] }, { 'a//b': [420, 0] }, { 'a/': [420, 0] }, { a: [0o10000, 0] }, { a: [420] }, { a: [420, 0, 1e9] }]) {
    t.not(validate({ ...meta, paths }, loadSchema('meta')).length, 0, JSON.stringify(paths));
  }
  t.not(validate({ ...meta, empty_dirs: [''] }, loadSchema('meta')).length, 0);
  const meta2 = { format: 'medo-meta', version: 2, attrs: [[493, 0], [420, -5, 7]], paths: { '': 0, 'a/b': 1 }, empty_dirs: ['e'] };
  t.deepEqual(validate(meta2, loadSchema('meta')), []);
  for (const bad of [{ ...meta2, paths: { a: [420, 0] } }, { ...meta2, paths: { a: -1 } }, { ...meta2, attrs: [[420]] }, { ...meta2, attrs: undefined },
    { ...meta2, version: 1 }, { ...meta, attrs: [] }]) {
    t.not(validate(JSON.parse(JSON.stringify(bad)), loadSchema('meta')).length, 0, JSON.stringify(bad));
  }
  t.not(validate({ silos: ['ftp://host/silo'] }, loadSchema('silo')).length, 0);
  t.deepEqual(validate({ silos: ['../s', 'https://h/s/', '/abs/s'] }, loadSchema('silo')), []);
});
