import test from 'ava';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePackList } from '../../../lib/silo/pack-list.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';

// pack/packs is what static web servers give remote readers instead of a directory listing: a stale one
// hides packs (a problem); a missing one only matters once the silo is served (a note).
test('silo verify checks the pack list: current is fine, stale is a problem, missing is a note', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'medo-verify-silo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const silo = Silo.init(dir);
  const w = silo.packWriter();
  w.add('blob', Buffer.from('one object\n'));
  w.finish();
  silo.close();
  writePackList(dir);
  let r = verifySilo(dir);
  t.true(r.ok);
  t.deepEqual(r.notes, []);

  appendFileSync(join(dir, 'pack', 'packs'), `P pack-${'0'.repeat(40)}.pack 100 2000\n`);
  r = verifySilo(dir);
  t.false(r.ok);
  t.regex(r.problems.map((p) => p.message).join('\n'), /does not list exactly the packs/);

  rmSync(join(dir, 'pack', 'packs'));
  r = verifySilo(dir);
  t.true(r.ok);
  t.regex(r.notes.join('\n'), /pack\/packs is missing/);
});
