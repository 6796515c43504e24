// quotePath must print names exactly as git does with core.quotePath=true (the default): git ls-tree
// over a tree holding every kind of byte that needs quoting is the oracle.
import test from 'ava';
import { quoteBytes, quotePath } from '../../../lib/git/quote.js';
import { git, gitLines, initRepo, tempDir } from '../../helpers/git-fixture.js';
import { AWKWARD_NAMES } from '../../helpers/history.js';

const BLOB = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';

const NAMES = [
  'plain.txt',
  'with space',
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'bell\u0007 backspace\b vtab\u000b formfeed\f',
  'escape\u001b and \u0001',
  'del\u007f',
  'say "hi"',
  'back\\slash',
  "apostrophe's",
  'café',
  '日本語',
  'emoji 🎉',
  '$dollar & ampersand; semicolon',
  ...AWKWARD_NAMES,
];

/** A tree of `names` made by git mktree, listed by git ls-tree --name-only, in git's order. */
function gitListing(t: import('ava').ExecutionContext, names: (string | Buffer)[]): string[] {
  const repo = initRepo(tempDir(t), { bare: true });
  const input = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from(`100644 blob ${BLOB}\t`), Buffer.from(n), Buffer.of(0)])));
  const tree = git(repo, ['mktree', '-z', '--missing'], input).toString().trim();
  return gitLines(repo, ['ls-tree', '--name-only', tree]);
}

test('quotePath agrees with git ls-tree for tabs, newlines, quotes, backslashes and non-ASCII', (t) => {
  const listed = gitListing(t, NAMES);
  const ours = [...NAMES].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map(quotePath);
  t.deepEqual(ours, listed);
  t.is(quotePath('tab\there'), '"tab\\there"');
  t.is(quotePath('café'), '"caf\\303\\251"');
  t.is(quotePath('with space'), 'with space', 'spaces alone need no quotes');
});

test('quoteBytes agrees with git for names that are not UTF-8', (t) => {
  const names = [Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0xe9]), Buffer.from([0xff, 0xfe]), Buffer.from('plain')];
  const sorted = [...names].sort(Buffer.compare);
  t.deepEqual(sorted.map((b) => quoteBytes(b)), gitListing(t, names));
});
