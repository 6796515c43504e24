// The metadata sidecar's parser: what it accepts is exactly what it wrote, and a path that could step
// outside the tree (an empty, '.' or '..' component, a leading slash, a NUL) is refused by name.
import test from 'ava';
import { TreeMeta, checkPath } from '../../../lib/medo/meta.js';

test('checkPath accepts clean relative paths and refuses every unclean one', (t) => {
  for (const p of ['', 'a', 'a/b', '.a', 'a..', '...', 'a/.b/c', 'x/..y/z']) t.true(checkPath(p), JSON.stringify(p));
  for (const p of ['/a', 'a/', 'a//b', '.', '..', 'a/.', 'a/..', './a', '../a', 'a/./b', 'a/../b', 'a\0b', '/']) {
    t.false(checkPath(p), JSON.stringify(p));
  }
});

test('a sidecar parses back to what it serialized', (t) => {
  const m = new TreeMeta();
  m.set('', 0o755, 1_700_000_000);
  m.set('bin/python3', 0o555, 1_700_000_001, 250_000_000);
  m.emptyDirs.add('share/empty');
  const back = TreeMeta.parse(m.serialize(), 'sidecar');
  t.deepEqual([...back.paths], [...m.paths]);
  t.deepEqual([...back.emptyDirs], ['share/empty']);
});

test('a path that steps outside is ERR_OBJECT_CORRUPT naming it', (t) => {
  const text = JSON.stringify({ format: 'medo-meta', version: 1, paths: { 'a/../../etc': [420, 1] }, empty_dirs: [] });
  const e = t.throws(() => TreeMeta.parse(text, 'sidecar x').get('a/../../etc'));
  t.is((e as { code?: string }).code, 'ERR_OBJECT_CORRUPT');
  t.regex(e!.message, /sidecar x: "paths\.a\/\.\.\/\.\.\/etc" is not a clean relative path/);
});

test('entries are checked when asked for: a malformed one fails its own lookup, naming it', (t) => {
  const text = JSON.stringify({ format: 'medo-meta', version: 1, paths: { ok: [420, 5], bad: [9999, 1], __proto__x: [1, 1] }, empty_dirs: [] });
  const m = TreeMeta.parse(text, 'sidecar y');
  t.deepEqual(m.get('ok'), { perm: 0o644, mtimeSec: 5, mtimeNsec: 0 });
  t.is(m.get('missing'), undefined);
  t.is(m.get('constructor'), undefined, 'only the sidecar\'s own keys');
  const e = t.throws(() => m.get('bad'));
  t.regex(e!.message, /sidecar y: "paths\.bad" has a bad permission/);
  t.throws(() => m.paths, { message: /paths\.bad/ }, 'iterating them all checks them all');
});

test('a large sidecar: every entry found by its path (any characters), no entry for a path it lacks', (t) => {
  const m = new TreeMeta();
  const paths: string[] = [''];
  for (let i = 0; i < 5000; i++) paths.push(`d${i % 37}/f${i}`, `d${i % 37}/f${i}.py`);
  paths.push('ünï/cødé', 'quote"d', 'back\\slash', 'tab\there', '__proto__', 'constructor', '日本/語');
  paths.forEach((p, i) => m.set(p, i % 0o7777, 1_700_000_000 + i, i % 3 === 0 ? 0 : i * 1000));
  const back = TreeMeta.parse(m.serialize(), 'sidecar');
  for (const p of paths) t.deepEqual(back.get(p), m.get(p), p);
  for (const p of ['d1', 'd1/f', 'd1/f1.p', 'f1', 'd1/f10000', 'ünï', 'quote', 'toString', 'd0/f0/']) t.is(back.get(p), undefined, p);
  const all = back.paths;
  t.is(all.size, paths.length);
  t.true(paths.every((p) => JSON.stringify(all.get(p)) === JSON.stringify(m.get(p))), 'iterating gives the same entries');
});

// What a sidecar's entry is, by JSON.parse and the format's rules: the oracle for the scanner's fast path.
function oracle(text: string, path: string): unknown {
  const paths = (JSON.parse(text) as { paths: Record<string, unknown> }).paths;
  if (!Object.hasOwn(paths, path)) return undefined;
  const v = paths[path];
  if (!checkPath(path)) return 'is not a clean relative path';
  if (!Array.isArray(v) || v.length < 2 || v.length > 3) return 'must be [perm, mtime] or [perm, mtime, nsec]';
  const [perm, sec, nsec = 0] = v as unknown[];
  if (typeof perm !== 'number' || !Number.isInteger(perm) || perm < 0 || perm > 0o7777) return 'has a bad permission';
  if (typeof sec !== 'number' || !Number.isSafeInteger(sec)) return 'has a bad mtime';
  if (typeof nsec !== 'number' || !Number.isInteger(nsec) || nsec < 0 || nsec > 999_999_999) return 'has bad nanoseconds';
  return { perm, mtimeSec: sec, mtimeNsec: nsec };
}

test('any spelling of a sidecar reads as JSON.parse reads it: spacing, order, escapes, repeats, odd numbers, bad entries', (t) => {
  const head = '"format": "medo-meta", "version": 1';
  const texts = [
    `{${head},"paths":{"a":[420,5],"b/c":[493,6,7]},"empty_dirs":[]}`,
    `{ "empty_dirs" : [ "e" ] ,\n\t"paths" : { "a" : [ 420 , 5 ] , "b\\/c" : [493,6,7] } , ${head} }\n`,
    `{${head},"paths":{"\\u0061":[420,5],"sp ace":[1,2],"tab\\t":[1,2],"ünï":[1,2,3],"\\"q\\"":[1,2]}}`,
    `{${head},"paths":{"a":[420,5],"a":[416,9]},"paths":{"x":[1,2]}}`,
    `{${head},"paths":{"a":[1e2,5],"b":[420.0,5],"c":[-1,5],"d":[420,5.5],"e":[420,5,1000000000],"f":[420],"g":[1,2,3,4],"h":[],"i":["x",1],"j":{"k":1},"k":null,"l":[420,-0]}}`,
    `{${head},"paths":{"../x":[420,5],"a//b":[420,5],"__proto__":[420,5],"constructor":[420,5]}}`,
  ];
  for (const text of texts) {
    const m = TreeMeta.parse(text, 'sidecar');
    const bytes = TreeMeta.parse(Buffer.from(text, 'utf8'), 'sidecar');
    const names = new Set([...Object.keys((JSON.parse(text) as { paths: object }).paths), 'nope', 'toString', 'a/', 'b']);
    for (const p of names) {
      for (const got of [m, bytes]) {
        const want = oracle(text, p);
        if (typeof want === 'string') t.throws(() => got.get(p), { message: `sidecar: "paths.${p}" ${want}` }, `${text} ${p}`);
        else t.deepEqual(got.get(p), want as object | undefined, `${text} ${p}`);
      }
    }
  }
  for (const bad of ['', '{', `{${head},"paths":{"a":[420,5],}}`, `{${head},"paths":{"a":[01,5]}}`, `{${head},"paths":[]}`, `{${head}}`,
    `{${head},"paths":{}} x`, `{${head},"paths":{"a":[420,5]}`, '[]', `{"format": "other", "version": 1, "paths": {}}`]) {
    t.throws(() => TreeMeta.parse(bad, 'sidecar'), { code: 'ERR_OBJECT_CORRUPT' } as never, bad);
  }
  t.deepEqual(TreeMeta.parse(`{${head},"paths":{},"empty_dirs":["x/y"]}`, 's').emptyDirs, new Set(['x/y']));
});
