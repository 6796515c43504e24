// The silo browser's reader (browser/silo-reader.js), run in Node against nginx serving a silo, held to
// git: every tree and blob of two versions (whole entries, a thin pack's REF_DELTA entries, and after
// `silo repack` OFS_DELTA chains), blob sizes as `git ls-tree -l` gives them, `git diff-tree -r` of the two
// versions, a loose object, and a corrupt entry refused rather than returned.
import test from 'ava';
import { createHash } from 'node:crypto';
import { cpSync, openSync, readdirSync, readSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { SiloReader, diffTrees, isTreeMode } from '../../browser/silo-reader.js';
import { sha1Hex } from '../../browser/sha1.js';
import { assertBuilt } from '../helpers/cli-process.js';
import { cli, makeBrowserFixture, type BrowserFixture } from '../helpers/browser-fixture.js';
import { gitLines, git, removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { randomBytes, random } from '../helpers/history.js';
import { startNginx, type Nginx } from '../helpers/silo-servers.js';

interface Entry { mode: string; name: string; oid: string }

let tmp: string;
let fx: BrowserFixture;
let nginx: Nginx;

test.before(async () => {
  assertBuilt('cli/medo/add.js');
  tmp = sharedTempDir('medo-browser-reader-');
  fx = makeBrowserFixture(tmp);
  nginx = await startNginx(tmp, join(tmp, 'nginx'));
});

test.after.always(async () => {
  await nginx?.stop();
  if (tmp !== undefined) removeDir(tmp);
});

const siloUrl = (dir: string): string => `${nginx.url}${dir}/`;

/** `git ls-tree -r -t -l` of a tree, as the reader would list it: mode type oid size path. */
async function walk(reader: InstanceType<typeof SiloReader>, tree: string): Promise<string[]> {
  const lines: string[] = [];
  const blobs: { entry: Entry; path: string }[] = [];
  const visit = async (oid: string, prefix: string): Promise<void> => {
    for (const e of (await reader.readTree(oid)) as Entry[]) {
      if (isTreeMode(e.mode)) {
        lines.push(`${e.mode} tree ${e.oid}       -\t${prefix}${e.name}`);
        await visit(e.oid, `${prefix}${e.name}/`);
      } else {
        blobs.push({ entry: e, path: `${prefix}${e.name}` });
      }
    }
  };
  await visit(tree, '');
  const sizes = (await reader.sizes(blobs.map((b) => b.entry.oid))) as Map<string, number>;
  for (const b of blobs) lines.push(`${b.entry.mode} blob ${b.entry.oid} ${String(sizes.get(b.entry.oid)).padStart(7)}\t${b.path}`);
  return lines.sort();
}

function gitListing(tree: string): string[] {
  // -z keeps awkward names unquoted, as the reader gives them.
  return git(fx.oracle, ['ls-tree', '-r', '-t', '-l', '-z', tree]).toString('utf8').split('\0').filter((l) => l !== '').sort();
}

async function assertReadsBothVersions(t: import('ava').ExecutionContext, silo: string, options: object): Promise<void> {
  const reader = await SiloReader.open(siloUrl(silo), options);
  for (const tree of [fx.v1, fx.v2]) {
    t.deepEqual(await walk(reader, tree), gitListing(tree), `listing of ${tree}`);
    const blobs = gitLines(fx.oracle, ['ls-tree', '-r', tree]).map((l) => l.split(/\s+/)[2]!);
    for (const oid of new Set(blobs)) {
      const want = git(fx.oracle, ['cat-file', 'blob', oid]);
      const got = Buffer.from((await reader.readBlob(oid)) as Uint8Array);
      if (!got.equals(want)) t.fail(`blob ${oid}: ${got.length} bytes differ from git's ${want.length}`);
    }
  }
  t.deepEqual(Buffer.from((await reader.readBlob(fx.blob)) as Uint8Array), git(fx.oracle, ['cat-file', 'blob', fx.blob]), 'the loose blob');
}

test.serial('reads every tree and blob as git has them, the .idx whole or by Range requests', async (t) => {
  const packs = readdirSync(join(fx.siloDir, 'pack')).filter((f) => f.endsWith('.pack'));
  t.is(packs.length, 2, 'one pack per add: version 1 whole, version 2 thin');
  t.regex(cli('medo', ['url-for', '--all', join(fx.medoDir, 'pkg', 'sample.treeptr')]), /ref-delta base=/, 'version 2 has REF_DELTA entries');
  await assertReadsBothVersions(t, 'deps.silo', {});
  await assertReadsBothVersions(t, 'deps.silo', { wholeIdxBelow: 0 });
});

test.serial('reads OFS_DELTA chains after silo repack', async (t) => {
  const repacked = join(tmp, 'repacked.silo');
  cpSync(fx.siloDir, repacked, { recursive: true });
  const report = JSON.parse(cli('silo', ['repack', '-f', '--json', repacked])) as { deltas: number; maxDepth: number };
  t.true(report.deltas > 0, `repack wrote deltas (${report.deltas})`);
  await assertReadsBothVersions(t, 'repacked.silo', {});
});

test.serial('diffTrees equals git diff-tree -r and skips equal subtrees', async (t) => {
  const reader = await SiloReader.open(siloUrl('deps.silo'));
  const rows = (await diffTrees(reader, fx.v1, fx.v2)) as { status: string; path: string; oldMode?: string; newMode?: string; oldOid?: string; newOid?: string }[];
  const zero = '0'.repeat(40);
  const got = rows.map((r) => `:${r.oldMode ?? '000000'} ${r.newMode ?? '000000'} ${r.oldOid ?? zero} ${r.newOid ?? zero} ${r.status}\t${r.path}`).sort();
  const want = git(fx.oracle, ['diff-tree', '-r', '-z', '--no-renames', '--raw', '--no-abbrev', fx.v1, fx.v2]).toString('utf8')
    .split(':').filter((r) => r !== '').map((r) => {
      const [head, path] = r.split('\0');
      return `:${head}\t${path}`;
    }).sort();
  t.deepEqual(got, want);
  t.true(rows.some((r) => r.status === 'T'), 'the file that became a symlink is a type change');
});

test.serial('a corrupt pack entry is refused, never returned', async (t) => {
  const bad = join(tmp, 'corrupt.silo');
  cpSync(fx.siloDir, bad, { recursive: true });
  // Version 1's pack holds the 3 MiB random blob whole: a byte in the middle of its zlib data.
  const blob = gitLines(fx.oracle, ['ls-tree', fx.v1, 'share/blob.bin'])[0]!.split(/\s+/)[2]!;
  const reader = await SiloReader.open(siloUrl('corrupt.silo'));
  const where = (await reader.locate(blob)) as { pack: { packPath: string }; offset: number };
  const fd = openSync(join(bad, where.pack.packPath), 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, where.offset + 1_000_000);
  b[0] = b[0]! ^ 0x55;
  writeSync(fd, b, 0, 1, where.offset + 1_000_000);
  closeSync(fd);
  const err = await t.throwsAsync(reader.readBlob(blob));
  t.regex(err!.message, /pack-[0-9a-f]{40}\.pack entry at \d+/);
});

test('sha1Hex equals node:crypto at every padding boundary and on a large input', (t) => {
  const r = random(7);
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 1 << 20]) {
    const bytes = randomBytes(r, n);
    t.is(sha1Hex(new Uint8Array(bytes)), createHash('sha1').update(bytes).digest('hex'), `${n} bytes`);
  }
});
