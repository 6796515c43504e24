// medod's persisted mount table: round trip, and a file that does not parse is set aside, not trusted.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATE_FILE, readState, writeState } from '../../daemon/state-file.js';

test('written then read back; missing file is an empty table', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'medo-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.deepEqual(readState(dir), { mounts: [] });
  const mounts = [{ source: '/s.medo', mountpoint: '/wedge/a', options: { allowOther: true } }, { source: '/repo', mountpoint: '/wedge/b', rev: 'v1', options: {} }];
  writeState(dir, mounts);
  t.deepEqual(readState(dir), { mounts });
  t.deepEqual(readdirSync(dir), [STATE_FILE], 'no temp file left');
});

test('a damaged table is moved aside with a problem line', (t) => {
  for (const text of ['{"version":1,"mounts":[{"source":"rel","mountpoint":"/m"}]}', 'not json', '{"version":2,"mounts":[]}']) {
    const dir = mkdtempSync(join(tmpdir(), 'medo-state-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, STATE_FILE), text);
    const r = readState(dir);
    t.deepEqual(r.mounts, []);
    t.regex(r.problem!, /does not parse .*moved to .*mounts\.json\.bad-\d+/);
    t.is(readdirSync(dir).filter((f) => f.startsWith(`${STATE_FILE}.bad-`)).length, 1);
  }
});
