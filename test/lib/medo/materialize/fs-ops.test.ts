// createFileNative: one native call that writes a new file, sets its mode and its mtime to the nanosecond,
// and never replaces anything — at its name directly, or as an unnamed file linked once complete.
import test from 'ava';
import { lstatSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileNative } from '../../../../lib/medo/materialize/fs-ops.js';
import { native } from '../../../../lib/native.js';
import { tempDir } from '../../../helpers/git-fixture.js';

const hasNative = native?.createFile !== undefined;

for (const direct of [true, false]) {
  const way = direct ? 'at its name' : 'linked once written';
  (hasNative ? test : test.skip)(`createFileNative ${way}: content, full mode and nanosecond mtime`, (t) => {
    const dir = tempDir(t, 'medo-fsops-');
    const abs = join(dir, 'f');
    const mtime = { sec: 1_600_000_000, nsec: 123_456_789 };
    t.true(createFileNative(abs, Buffer.from('hello\n'), 0o4751, true, mtime, direct));
    t.is(readFileSync(abs, 'utf8'), 'hello\n');
    const st = lstatSync(abs, { bigint: true });
    t.is(Number(st.mode & 0o7777n), 0o4751);
    t.is(st.mtimeNs, 1_600_000_000_123_456_789n);
    t.true(createFileNative(join(dir, 'empty'), Buffer.alloc(0), 0o644, false, undefined, direct));
    t.is(lstatSync(join(dir, 'empty')).size, 0);
    t.deepEqual(readdirSync(dir).sort(), ['empty', 'f'], 'no temp name left');
  });

  (hasNative ? test : test.skip)(`createFileNative ${way} never replaces a file or writes through a symlink`, (t) => {
    const dir = tempDir(t, 'medo-fsops-');
    writeFileSync(join(dir, 'there'), 'old\n');
    writeFileSync(join(dir, 'target'), 'target\n');
    symlinkSync('target', join(dir, 'link'));
    for (const name of ['there', 'link']) {
      const e = t.throws(() => createFileNative(join(dir, name), Buffer.from('new\n'), 0o644, false, undefined, direct));
      t.is((e as NodeJS.ErrnoException).code, 'EEXIST');
      t.regex(e!.message, new RegExp(name));
    }
    t.is(readFileSync(join(dir, 'there'), 'utf8'), 'old\n');
    t.is(readFileSync(join(dir, 'target'), 'utf8'), 'target\n');
    t.deepEqual(readdirSync(dir).sort(), ['link', 'target', 'there']);
  });
}

(hasNative ? test : test.skip)('createFileNative names the directory that is missing', (t) => {
  const dir = tempDir(t, 'medo-fsops-');
  for (const direct of [true, false]) {
    const e = t.throws(() => createFileNative(join(dir, 'no/such/f'), Buffer.from('x'), 0o644, false, undefined, direct));
    t.is((e as NodeJS.ErrnoException).code, 'ENOENT');
    t.regex(e!.message, /no\/such\/f/);
  }
});
