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
  const j = JSON.parse(text) as { version: number; attrs?: unknown[]; paths: Record<string, unknown> };
  const paths = j.paths;
  if (!Object.hasOwn(paths, path)) return undefined;
  let v = paths[path];
  if (!checkPath(path)) return 'is not a clean relative path';
  if (j.version === 2) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= j.attrs!.length) return 'must be the index of an entry of "attrs"';
    v = j.attrs![v];
  }
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

test('a path given twice: paths and entries() hold only the later entry, as get() and JSON.parse do (found by fuzz/js meta)', (t) => {
  for (const text of [
    '{"format": "medo-meta", "version": 1, "paths": {"a": [420, 5], "b": [420, 6], "a": [493, 7]}}',
    '{"format": "medo-meta", "version": 2, "attrs": [[420, 6], [493, 7]], "paths": {"a": 0, "b": 0, "a": 1}}',
    // The earlier entry is malformed: only the later one is read, so nothing fails.
    '{"format": "medo-meta", "version": 1, "paths": {"a": [99999, 5], "b": [420, 6], "a": [493, 7]}}',
  ]) {
    const later = { perm: 0o755, mtimeSec: 7, mtimeNsec: 0 };
    t.deepEqual(TreeMeta.parse(text, 'sidecar').get('a'), later, text);
    t.deepEqual([...TreeMeta.parse(text, 'sidecar').entries()], [['b', { perm: 0o644, mtimeSec: 6, mtimeNsec: 0 }], ['a', later]], text);
    const all = TreeMeta.parse(text, 'sidecar').paths;
    t.deepEqual([...all], [['b', { perm: 0o644, mtimeSec: 6, mtimeNsec: 0 }], ['a', later]], text);
    t.deepEqual([...TreeMeta.parse(TreeMeta.parse(text, 'sidecar').serialize(), 'again').paths].sort(), [...all].sort(), text);
  }
});

test('version 2: each path names its attrs entry; any spelling reads as JSON.parse reads it, bad indices and entries by name', (t) => {
  const head = '"format": "medo-meta", "version": 2';
  const texts = [
    `{${head},"attrs":[[420,5],[493,6,7]],"paths":{"a":0,"b/c":1,"d":0},"empty_dirs":[]}`,
    `{ "paths" : { "a" : 1 , "b" : 0 } ,\n "attrs" : [ [ 493 , 6 , 7 ] , [420,5] ] , ${head} }\n`,
    `{${head},"attrs":[[420,5],[9999,1],[420],[420,5,1000000000],[1,1.5]],"paths":{"a":0,"b":1,"c":2,"d":3,"e":4,"f":5,"g":-1,"h":0.5,"i":[420,5],"j":"0","k":null}}`,
    `{${head},"attrs":[[420,5]],"paths":{"../x":0,"__proto__":0,"constructor":0}}`,
    `{${head},"attrs":[[420,5],7,{"a":1}],"paths":{"a":0,"b":1,"c":2}}`,
  ];
  for (const text of texts) {
    for (const got of [TreeMeta.parse(text, 'sidecar'), TreeMeta.parse(Buffer.from(text, 'utf8'), 'sidecar')]) {
      for (const p of [...Object.keys((JSON.parse(text) as { paths: object }).paths), 'nope', 'toString']) {
        const want = oracle(text, p);
        if (typeof want === 'string') t.throws(() => got.get(p), { message: `sidecar: "paths.${p}" ${want}` }, `${text} ${p}`);
        else t.deepEqual(got.get(p), want as object | undefined, `${text} ${p}`);
      }
    }
  }
  for (const bad of [`{${head},"paths":{"a":0}}`, `{${head},"attrs":{},"paths":{"a":0}}`, `{"format":"medo-meta","version":1,"attrs":[],"paths":{}}`,
    `{"format":"medo-meta","version":3,"attrs":[],"paths":{}}`]) {
    t.throws(() => TreeMeta.parse(bad, 'sidecar'), { code: 'ERR_OBJECT_CORRUPT' } as never, bad);
  }
});

test('version 1 sidecars (what medo wrote before) still read, and serialize writes version 2 with each attrs once', (t) => {
  const v1 = JSON.stringify({ format: 'medo-meta', version: 1, paths: { '': [493, 7], a: [420, 7], b: [420, 7, 5] }, empty_dirs: ['e'] });
  const m = TreeMeta.parse(v1, 'old');
  t.deepEqual(m.get('b'), { perm: 0o644, mtimeSec: 7, mtimeNsec: 5 });
  const v2 = JSON.parse(m.serialize()) as { version: number; attrs: number[][]; paths: Record<string, number> };
  t.is(v2.version, 2);
  t.deepEqual(v2.attrs, [[493, 7], [420, 7], [420, 7, 5]]);
  t.deepEqual(v2.paths, { '': 0, a: 1, b: 2 });
  t.deepEqual([...TreeMeta.parse(m.serialize(), 'new').paths], [...m.paths]);
});

test('the next version of a tarball tree whose times all moved has a sidecar that differs in its attrs alone', (t) => {
  const version = (mtime: number): string => {
    const m = new TreeMeta();
    m.set('', 0o755, mtime + 100, 5);
    for (let i = 0; i < 500; i++) m.set(`lib/f${i}.d.ts`, 0o644, mtime);
    return m.serialize();
  };
  const [a, b] = [version(1_700_000_000), version(1_700_086_400)];
  const changed = b.split('\n').filter((line, i) => line !== a.split('\n')[i]);
  t.is(a.split('\n').length, b.split('\n').length);
  t.deepEqual(changed.map((l) => l.trim()), ['1700086500,', '1700086400'], 'only the two mtimes of attrs');
});
