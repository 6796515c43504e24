// verify: a freshly expanded directory matches; each kind of tampering is reported exactly once, by path.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expandTargets } from '../../../lib/medo/expand.js';
import { resolveTargets } from '../../../lib/medo/resolve-target.js';
import { Silo } from '../../../lib/silo/silo.js';
import { mtimeFromStat } from '../../../lib/medo/materialize/fs-ops.js';
import { formatMtime, verifyTargets, type VerifyOptions, type VerifyReport } from '../../../lib/medo/verify-dir.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { makeMedoLayout, makeSampleTree, setMtimeNs, storeBlob, storeTree } from '../../helpers/medo-fixture.js';

async function run(arg: string, dir: string, action: 'expand' | 'verify', options: VerifyOptions = {}): Promise<VerifyReport | undefined> {
  const resolved = resolveTargets(arg);
  const store = resolved.medoDir.openStore();
  try {
    if (action === 'verify') return await verifyTargets(resolved.targets, store, dir, options);
    await expandTargets(resolved.targets, store, dir);
    return undefined;
  } finally {
    store.close();
  }
}
const verify = async (arg: string, dir: string, options: VerifyOptions = {}): Promise<VerifyReport> => (await run(arg, dir, 'verify', options))!;

async function expanded(t: ExecutionContext, options: { meta?: boolean } = {}): Promise<{ ptr: string; dest: string; source: string; tmp: string; siloDir: string }> {
  const tmp = tempDir(t, 'medo-verify-');
  const layout = makeMedoLayout(tmp);
  const source = join(tmp, 'source');
  makeSampleTree(source);
  const ptr = storeTree(layout, source, 'sample.treeptr', tmp, options).treeptrPath;
  const dest = join(tmp, 'out');
  await run(ptr, dest, 'expand');
  return { ptr, dest, source, tmp, siloDir: layout.siloDir };
}

/** Runs `fn`, then puts back the mtime of the directory holding `path`, so only `fn`'s own change shows. */
function inPlace(path: string, fn: () => void): void {
  const dir = dirname(path);
  const st = statSync(dir);
  fn();
  utimesSync(dir, st.atime, st.mtime);
}

test('a freshly expanded directory verifies clean', async (t) => {
  const { ptr, dest } = await expanded(t);
  const r = await verify(ptr, dest);
  t.deepEqual(r.differences, []);
  t.true(r.ok);
  t.true(r.files > 50);
});

for (const [way, options] of [['on worker threads', {}], ['on this thread', { threads: 0 }]] as const) {
  test(`each kind of difference is reported, sorted by path (${way})`, async (t) => {
    const { ptr, dest, source } = await expanded(t);
    const blob = join(dest, 'share/blob.bin');
    const st = statSync(blob);
    const bytes = readFileSync(blob);
    bytes[12345] = bytes[12345]! ^ 1;
    writeFileSync(blob, bytes);
    utimesSync(blob, st.atime, st.mtime);
    chmodSync(join(dest, 'etc/secret.conf'), 0o644);
    utimesSync(join(dest, 'README'), 1_700_000_000, 1_700_000_000);
    inPlace(join(dest, 'bin/readme-link'), () => {
      unlinkSync(join(dest, 'bin/readme-link'));
      symlinkSync('../elsewhere', join(dest, 'bin/readme-link'));
      copyMtime(join(source, 'bin/readme-link'), join(dest, 'bin/readme-link'));
    });
    inPlace(join(dest, 'many/f001.txt'), () => unlinkSync(join(dest, 'many/f001.txt')));
    inPlace(join(dest, 'many/new.txt'), () => writeFileSync(join(dest, 'many/new.txt'), 'new'));
    inPlace(join(dest, 'abs-link'), () => {
      unlinkSync(join(dest, 'abs-link'));
      mkdirSync(join(dest, 'abs-link'));
    });
    inPlace(join(dest, 'nested-empty/inner'), () => rmSync(join(dest, 'nested-empty/inner'), { recursive: true }));
    const r = await verify(ptr, dest, options);
    t.false(r.ok);
    const readmeMtime = formatMtime(mtimeFromStat(lstatSync(join(source, 'README'), { bigint: true })));
    t.deepEqual(r.differences, [
      { kind: 'mtime', path: 'README', expected: readmeMtime, actual: '2023-11-14T22:13:20.000000Z' },
      { kind: 'type', path: 'abs-link', expected: 'symlink', actual: 'directory' },
      { kind: 'target', path: 'bin/readme-link', expected: '../README', actual: '../elsewhere' },
      { kind: 'mode', path: 'etc/secret.conf', expected: '0600', actual: '0644' },
      { kind: 'missing', path: 'many/f001.txt', expected: 'file' },
      { kind: 'extra', path: 'many/new.txt', actual: 'file' },
      { kind: 'missing', path: 'nested-empty/inner/', expected: 'directory' },
      { kind: 'content', path: 'share/blob.bin', expected: gitHash(join(source, 'share/blob.bin')), actual: gitHash(blob) },
    ]);
  });
}

function gitHash(file: string): string {
  return execFileSync('git', ['hash-object', file]).toString().trim();
}

function copyMtime(from: string, to: string): void {
  const ns = lstatSync(from, { bigint: true }).mtimeNs;
  setMtimeNs(to, Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n));
}

test('without a sidecar only the executable bit is compared, and no mtime', async (t) => {
  const { ptr, dest } = await expanded(t, { meta: false });
  chmodSync(join(dest, 'README'), 0o600);
  utimesSync(join(dest, 'README'), 1, 1);
  t.deepEqual((await verify(ptr, dest)).differences, []);
  chmodSync(join(dest, 'bin/tool'), 0o644);
  t.deepEqual((await verify(ptr, dest)).differences, [{ kind: 'mode', path: 'bin/tool', expected: 'executable', actual: 'not executable' }]);
});

test('a directory that is not there is one difference; a file is a usage error', async (t) => {
  const { ptr, tmp } = await expanded(t);
  t.deepEqual((await verify(ptr, join(tmp, 'nowhere'))).differences, [{ kind: 'missing', path: '', expected: 'directory' }]);
  writeFileSync(join(tmp, 'plain'), '');
  const err = await t.throwsAsync(verify(ptr, join(tmp, 'plain')));
  t.is((err as unknown as { code: string }).code, 'ERR_USAGE');
});

test('a blob the silo lacks is ERR_OBJECT_MISSING naming it, even when the directory has the file', async (t) => {
  const tmp = tempDir(t, 'medo-verify-');
  const layout = makeMedoLayout(tmp);
  const source = join(tmp, 'source');
  mkdirSync(source);
  writeFileSync(join(source, 'kept.txt'), 'kept\n');
  const ptr = storeTree(layout, source, 'one.treeptr', tmp).treeptrPath;
  const dest = join(tmp, 'out');
  await run(ptr, dest, 'expand');
  // Drop the pack (the tree and the blob live there); put the tree back loose, not the blob.
  const treeptr = JSON.parse(readFileSync(ptr, 'utf8')) as { tree: string };
  const before = Silo.open(layout.siloDir);
  const treeContent = before.read(treeptr.tree)!.content;
  before.close();
  rmSync(join(layout.siloDir, 'pack'), { recursive: true });
  mkdirSync(join(layout.siloDir, 'pack'));
  const silo = Silo.open(layout.siloDir);
  silo.writeLoose('tree', treeContent);
  silo.close();
  const blob = execFileSync('git', ['hash-object', join(source, 'kept.txt')]).toString().trim();
  const err = await t.throwsAsync(verify(ptr, dest));
  t.is((err as unknown as { code: string }).code, 'ERR_OBJECT_MISSING');
  t.regex(err!.message, new RegExp(blob));
});

test('a tarball blob is compared with its entries', async (t) => {
  const tmp = tempDir(t, 'medo-verify-');
  const layout = makeMedoLayout(tmp);
  const src = join(tmp, 'src');
  makeSampleTree(src);
  const tar = join(tmp, 'sample.tar');
  execFileSync('tar', ['--format=posix', '-cf', tar, '-C', src, '.']);
  const ptr = storeBlob(layout, tar, 'sample.tar.treeptr').treeptrPath;
  const dest = join(tmp, 'out');
  await run(ptr, dest, 'expand');
  t.deepEqual((await verify(ptr, dest)).differences, []);
  chmodSync(join(dest, 'README'), 0o600);
  t.deepEqual((await verify(ptr, dest)).differences, [{ kind: 'mode', path: 'README', expected: '0644', actual: '0600' }]);
});
