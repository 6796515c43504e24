import test from 'ava';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePackList } from '../../../lib/silo/pack-list.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';

// pack/packs is what static web servers give remote readers instead of a directory listing: a stale one
// hides packs (a problem); a missing one only matters once the silo is served (a note).
test('silo verify checks the pack list: current is fine, naming what is not there is a problem, lacking a pack or missing is a note', (t) => {
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

  // A list that only lacks a pack in place (a writer killed between its rename and its list): a note.
  writePackList(dir);
  const listed = readFileSync(join(dir, 'pack', 'packs'), 'utf8');
  const again = Silo.open(dir);
  const w2 = again.packWriter();
  w2.add('blob', Buffer.from('another object\n'));
  const second = w2.finish();
  again.close();
  writeFileSync(join(dir, 'pack', 'packs'), listed);
  r = verifySilo(dir);
  t.true(r.ok, JSON.stringify(r.problems));
  t.regex(r.notes.join('\n'), new RegExp(`does not list ${second!.name} yet`));
  // The same list with the size of its one pack wrong: a problem.
  writeFileSync(join(dir, 'pack', 'packs'), listed.replace(/ (\d+) (\d+)$/m, (_m, a: string, b: string) => ` ${Number(a) + 1} ${b}`));
  t.false(verifySilo(dir).ok);

  rmSync(join(dir, 'pack', 'packs'));
  r = verifySilo(dir);
  t.true(r.ok);
  t.regex(r.notes.join('\n'), /pack\/packs is missing/);
});
