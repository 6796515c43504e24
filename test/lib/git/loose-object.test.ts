// Git's loose objects: the files git writes parse to what `git cat-file` prints, what we encode git
// reads, and every broken file is ERR_OBJECT_CORRUPT (or ERR_TOO_LARGE for a declared size over the limit).
import test from 'ava';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { encodeLooseObject, parseLooseObject } from '../../../lib/git/loose-object.js';
import { hashObject } from '../../../lib/oid.js';
import { git, gitObjects, initRepo, tempDir } from '../../helpers/git-fixture.js';
import { makeSmallRepo, random, randomBytes } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

const LIMIT = 2 ** 31 - 1;

test('every loose file git wrote parses to what git cat-file prints', (t) => {
  const repo = tempDir(t);
  makeSmallRepo(repo);
  const objects = gitObjects(repo);
  const files = readdirSync(join(repo, '.git', 'objects'))
    .filter((d) => /^[0-9a-f]{2}$/.test(d))
    .flatMap((d) => readdirSync(join(repo, '.git', 'objects', d)).map((f) => d + f));
  t.is(files.length, objects.length, 'nothing is packed yet');
  for (const o of objects) {
    const got = parseLooseObject(readFileSync(join(repo, '.git', 'objects', o.oid.slice(0, 2), o.oid.slice(2))), LIMIT, o.oid);
    t.is(got.type, o.type);
    t.true(got.content.equals(o.content), o.oid);
  }
});

test('objects we encode are read by git', (t) => {
  const repo = initRepo(tempDir(t), { bare: true });
  const samples = [Buffer.alloc(0), Buffer.from('hello\n'), randomBytes(random(3), 100_000)];
  for (const content of samples) {
    const oid = hashObject('blob', content);
    mkdirSync(join(repo, 'objects', oid.slice(0, 2)), { recursive: true });
    writeFileSync(join(repo, 'objects', oid.slice(0, 2), oid.slice(2)), encodeLooseObject('blob', content));
    t.true(git(repo, ['cat-file', 'blob', oid]).equals(content));
    t.deepEqual(parseLooseObject(encodeLooseObject('blob', content), LIMIT, oid), { type: 'blob', content });
  }
  git(repo, ['fsck', '--strict']);
});

test('broken loose files are ERR_OBJECT_CORRUPT', (t) => {
  const good = encodeLooseObject('blob', Buffer.from('some content\n'));
  const flipped = Buffer.from(good);
  flipped[flipped.length - 6]! ^= 0xff;
  const z = (s: string | Buffer) => deflateSync(Buffer.from(s as string));
  const cases: Record<string, Buffer> = {
    'empty file': Buffer.alloc(0),
    'not zlib': Buffer.from('blob 3\0abc'),
    'truncated zlib stream': good.subarray(0, good.length - 5),
    'bad checksum': flipped,
    'no NUL after the header': z('blob 3 abc'),
    'header longer than 32 bytes': z(`blob ${'1'.repeat(40)}\0`),
    'unknown type': z('blub 3\0abc'),
    'type in capitals': z('BLOB 3\0abc'),
    'zero-padded size': z('blob 03\0abc'),
    'size not a number': z('blob x\0abc'),
    'two spaces': z('blob  3\0abc'),
    'content shorter than declared': z('blob 10\0abc'),
    'content longer than declared': z('blob 2\0abc'),
  };
  for (const [why, bytes] of Object.entries(cases)) throwsCode(t, () => parseLooseObject(bytes, LIMIT, 'test'), 'ERR_OBJECT_CORRUPT', why);
});

test('a declared size over the limit is ERR_TOO_LARGE', (t) => {
  const bytes = encodeLooseObject('blob', Buffer.alloc(1000, 'x'));
  throwsCode(t, () => parseLooseObject(bytes, 999, 'test'), 'ERR_TOO_LARGE');
  t.is(parseLooseObject(bytes, 1000, 'test').content.length, 1000);
});
