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
