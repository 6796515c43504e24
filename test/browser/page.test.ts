// The silo browser end to end: `silo publish --browser` writes the page into a silo, nginx serves it on
// loopback, and Debian's headless Chromium, driven by playwright-core, shows it. What the page shows is
// held to git: the .treeptr files and their history, a directory listing (`git ls-tree -l`), a text
// file's bytes and a binary file's download (`git cat-file`), and the difference of two versions
// (`git diff-tree -r`). MEDO_BROWSER_SCREENSHOTS=DIR saves the screenshots docs/browser.md shows.
import test from 'ava';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { assertBuilt } from '../helpers/cli-process.js';
import { cli, makeBrowserFixture, type BrowserFixture } from '../helpers/browser-fixture.js';
import { git, gitLines, removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { startNginx, type Nginx } from '../helpers/silo-servers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const SHOTS = process.env['MEDO_BROWSER_SCREENSHOTS'];

let tmp: string;
let fx: BrowserFixture;
let nginx: Nginx;
let browser: Browser;
let meta1: string;
let meta2: string;

test.before(async () => {
  assertBuilt('cli/silo/publish.js');
  if (CHROMIUM === undefined) throw new Error('chromium is not installed: run scripts/setup.sh');
  tmp = sharedTempDir('medo-browser-page-');
  fx = makeBrowserFixture(tmp);
  cli('silo', ['publish', '--browser', '--medo', fx.medoDir, fx.siloDir]);
  meta1 = (JSON.parse(readFileSync(join(fx.medoDir, 'pkg', 'sample-1.treeptr'), 'utf8')) as { meta: string }).meta;
  meta2 = (JSON.parse(readFileSync(join(fx.medoDir, 'pkg', 'sample.treeptr'), 'utf8')) as { meta: string }).meta;
  nginx = await startNginx(tmp, join(tmp, 'nginx'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  if (SHOTS !== undefined) mkdirSync(SHOTS, { recursive: true });
});

test.after.always(async () => {
  await browser?.close();
  await nginx?.stop();
  if (tmp !== undefined) removeDir(tmp);
});

const pageUrl = (): string => `${nginx.url}deps.silo/browse/`;

/** A page that fails the test on any script error, opened at `hash`, once it has rendered. */
async function open(t: import('ava').ExecutionContext, hash = ''): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  t.teardown(() => page.close());
  await page.goto(`${pageUrl()}${hash === '' ? '' : `#${hash}`}`);
  await ready(page);
  return { page, errors };
}

async function ready(page: Page): Promise<void> {
  // Rendered, and for the URL now shown: a click changes location.hash at once, the view a moment later.
  await page.waitForFunction(() => document.body.dataset['ready'] === 'true' && document.body.dataset['hash'] === location.hash);
  const error = await page.textContent('#error');
  if (error !== '' && error !== null) throw new Error(`the page shows an error: ${error}`);
}

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS !== undefined) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

test.serial('lists every .treeptr with its history', async (t) => {
  const { page, errors } = await open(t);
  const rows = await page.$$eval('#treeptrs tr[data-path]', (trs) => trs.map((tr) => [tr.getAttribute('data-path'), tr.getAttribute('data-oid')]));
  t.deepEqual(rows, [
    ['deps.medo/pkg/sample-1.treeptr', fx.v1],
    ['deps.medo/pkg/sample.treeptr', fx.v2],
    ['deps.medo/upstream.tar.treeptr', fx.blob],
  ]);
  const history = await page.$$eval('#treeptrs tr[data-path="deps.medo/pkg/sample.treeptr"] li', (lis) => lis.map((li) => li.textContent));
  const commits = gitLines(fx.medoDir, ['log', '--format=%H %s', '--', 'pkg/sample.treeptr']);
  t.is(history.length, commits.length);
  commits.forEach((c, i) => t.true(history[i]!.includes(c.slice(0, 12)) && history[i]!.includes(c.slice(41)), `history line ${i}: ${history[i]}`));
  await shot(page, 'browser-home');
  t.deepEqual(errors, [], 'no script errors');
});

/** `git ls-tree -l` of a directory, as name, mode, id and size. */
function gitListing(treeish: string): string[][] {
  return git(fx.oracle, ['ls-tree', '-l', '-z', treeish]).toString('utf8').split('\0').filter((l) => l !== '').map((l) => {
    const [head, name] = l.split('\t');
    const [mode, type, oid, size] = head!.split(/\s+/);
    return [name!, mode!.padStart(6, '0'), oid!, type === 'tree' ? '' : size!];
  });
}

const shownListing = (page: Page): Promise<string[][]> => page.$$eval('#listing tr[data-name]', (trs) => trs.map((tr) => [
  tr.getAttribute('data-name')!, tr.getAttribute('data-mode')!, tr.getAttribute('data-oid')!, tr.getAttribute('data-size') ?? '',
]));

test.serial('a directory listing is git ls-tree -l, with the sidecar\'s empty directories, modes and times', async (t) => {
  const { page, errors } = await open(t);
  await page.click('#treeptrs tr[data-path="deps.medo/pkg/sample.treeptr"] a');
  await ready(page);
  const sidecar = JSON.parse(cli('silo', ['cat-file', '-p', fx.siloDir, meta2])) as { empty_dirs: string[] };
  const empties = sidecar.empty_dirs.filter((d) => !d.includes('/')).map((d) => [d, '040000', '', '']);
  const sort = (rows: string[][]): string[][] => [...rows].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  t.deepEqual(sort(await shownListing(page)), sort([...gitListing(fx.v2), ...empties]));
  await shot(page, 'browser-tree');
  // An empty directory is the sidecar's alone; it lists the empty directories in it, with their modes.
  await page.click('#listing tr[data-name="var"] a');
  await ready(page);
  t.deepEqual(await shownListing(page), [['private-empty', '040000', '', '']]);
  t.is(await page.textContent('#listing tr[data-name="private-empty"] td.mode'), 'drwx------');
  await page.goBack();
  await ready(page);
  // The sidecar's permissions: bin/private-tool is 0700.
  await page.click('#listing tr[data-name="bin"] a');
  await ready(page);
  t.deepEqual(sort(await shownListing(page)), sort(gitListing(`${fx.v2}:bin`)));
  t.is(await page.textContent('#listing tr[data-name="private-tool"] td.mode'), '-rwx------');
  t.regex((await page.textContent('#listing tr[data-name="readme-link"] td.name'))!, /-> \.\.\/README$/);
  t.deepEqual(errors, [], 'no script errors');
});

test.serial('a text file shows its bytes; a binary file downloads as git has it', async (t) => {
  const { page, errors } = await open(t, new URLSearchParams({ view: 'tree', root: fx.v2, meta: meta2, label: 'sample' }).toString());
  await page.click('#listing tr[data-name="README"] a');
  await ready(page);
  t.is(await page.textContent('#file-text'), git(fx.oracle, ['cat-file', '-p', `${fx.v2}:README`]).toString('utf8'));
  await page.goto(`${pageUrl()}#${new URLSearchParams({ view: 'file', root: fx.v2, meta: meta2, path: 'names/café – ünïcödé 日本.txt' })}`);
  await ready(page);
  t.is(await page.textContent('#file-text'), 'café – ünïcödé 日本.txt\n');
  await page.goto(`${pageUrl()}#${new URLSearchParams({ view: 'file', root: fx.v2, meta: meta2, path: 'share/blob.bin' })}`);
  await ready(page);
  t.truthy(await page.$('#binary'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const saved = join(tmp, 'downloaded.bin');
  await download.saveAs(saved);
  t.true(readFileSync(saved).equals(git(fx.oracle, ['cat-file', 'blob', `${fx.v2}:share/blob.bin`])), 'the download is the blob');
  t.is(download.suggestedFilename(), 'blob.bin');
  t.deepEqual(errors, [], 'no script errors');
});

test.serial('the difference of two versions is git diff-tree -r, and a line diff of a changed file', async (t) => {
  const { page, errors } = await open(t);
  await page.selectOption('#diff-a', `${fx.v1}|${meta1}`);
  await page.selectOption('#diff-b', `${fx.v2}|${meta2}`);
  await page.click('#compare');
  await ready(page);
  // No named functions inside: tsx would wrap them in a helper the page does not have.
  const shown = await page.$$eval('#diff tr[data-path]', (trs) => trs.map((tr) => ['data-old-mode', 'data-new-mode', 'data-old-oid', 'data-new-oid', 'data-status', 'data-path']
    .map((k) => tr.getAttribute(k) ?? '')));
  const zero = '0'.repeat(40);
  const got = shown.map(([om, nm, oo, no, st, path]) => `:${om || '000000'} ${nm || '000000'} ${oo || zero} ${no || zero} ${st}\t${path}`);
  const want = git(fx.oracle, ['diff-tree', '-r', '-z', '--no-renames', '--raw', '--no-abbrev', fx.v1, fx.v2]).toString('utf8')
    .split(':').filter((r) => r !== '').map((r) => {
      const [head, path] = r.split('\0');
      return `:${head}\t${path}`;
    });
  t.deepEqual([...got].sort(), [...want].sort());
  t.regex((await page.textContent('#diff-summary'))!, new RegExp(`^${want.length} changed`));
  await shot(page, 'browser-diff');
  await page.click('#diff tr[data-path="doc/manual.txt"] a.file-diff-link');
  await ready(page);
  const lines = (await page.textContent('#file-diff'))!.split('\n');
  t.true(lines.includes('-line 1000: the manual of the sample wedge'));
  t.true(lines.includes('+line 1000 (revised): the manual of the sample wedge'));
  t.is(lines.filter((l) => l.startsWith('+') || l.startsWith('-')).length, 2, 'one line changed');
  await shot(page, 'browser-file-diff');
  t.deepEqual(errors, [], 'no script errors');
});

test.serial('an object the silo lacks is an error on the page', async (t) => {
  const page = await browser.newPage();
  t.teardown(() => page.close());
  await page.goto(`${pageUrl()}#${new URLSearchParams({ view: 'file', blob: '0'.repeat(40) })}`);
  await page.waitForSelector('body[data-ready="true"]');
  t.regex((await page.textContent('#error'))!, /object 0{40} is not in this silo/);
});
