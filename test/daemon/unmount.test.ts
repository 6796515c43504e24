import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmountPath } from '../../daemon/unmount.js';
import { native } from '../../lib/native.js';

// A root daemon unmounts with umount2(2) through the native helper, never through a fusermount child
// (daemon/unmount.ts says why). The answer for a directory that is not a mount tells which path ran:
// umount2 says EINVAL; fusermount would complain about /etc/mtab.
test('as root with the native helper, unmounting needs no child process', async (t) => {
  if (process.getuid?.() !== 0 || native === undefined) {
    t.pass('not root, or MEDO_NO_NATIVE: fusermount is used');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'medo-unmount-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await unmountPath(dir, false);
  t.false(r.ok);
  t.regex(r.message, /EINVAL/);
});
