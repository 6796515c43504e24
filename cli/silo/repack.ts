// `silo repack`: fold loose objects and small packs into one pack.
import { DEFAULT_DELTA_PARAMS } from '../../lib/silo/delta-search.js';
import { parseDuration } from '../../lib/silo/duration.js';
import { parseSize, repack, type RepackReport } from '../../lib/silo/repack.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function formatReport(r: RepackReport): string {
  const lines: string[] = [];
  if (!r.changed) {
    lines.push(`${r.silo}: nothing to repack (no loose objects, at most one pack to fold)`);
  } else {
    const into = r.newPack === undefined ? 'nothing new (every object was already in a pack that stays)'
      : `${r.newPack} (${plural(r.objects, 'object')}, ${r.deltas} of them deltas, chains up to ${r.maxDepth} deep)`;
    lines.push(`${r.silo}: folded ${plural(r.foldedLoose, 'loose object')} and ${plural(r.foldedPacks.length, 'pack')} into ${into}`);
  }
  if (r.keptPacks.length > 0) lines.push(`left as they are: ${plural(r.keptPacks.length, 'pack')} (at or over --small, or with a .keep file)`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}

function count(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) usage(`${what} takes a whole number, not ${JSON.stringify(text)}`);
  return n;
}

export const repackCommand: Command = {
  name: 'repack',
  help: `usage: silo repack [--small SIZE] [-f] [--window N] [--depth N] [--no-delta] [--threads N] [--lock-wait DURATION] [--json] SILO

Copies every loose object and every pack smaller than SIZE (default: every pack) into one new pack,
then deletes what it replaced: the new pack is written and synced first, then each old pack goes (.idx
first, then .pack), then the loose files, so a crash at any point loses nothing. Packs with a .keep file
are left alone. A silo with no loose objects and at most one pack to fold is left as it is, so a second
run changes nothing; -f rewrites a lone pack all the same. SIZE is bytes, or a number with k, M, G or T
(powers of 1024): --small 16M.

The new pack stores objects as deltas (git's OFS_DELTA) where that saves space, and git's own tools
read it. Objects are ordered so that every version of a path (found by walking the trees) sits next to
the others, and each is tried against the N objects before it of its type; chains are at most --depth
long. Every object is checked against its id and every delta is checked to rebuild its object before
it is written. Delta search runs on every core.

Safe beside running 'medo add's and readers: nothing it did not copy is deleted, and the pack list
names the new pack before any old file goes. It holds the silo's upkeep lock (locks/upkeep.lock), as
'silo gc --prune' does: one waits for the other up to --lock-wait DURATION (default 0: fail at once,
exit 3, naming the holder; 30s, 10m, 1h). The new pack counts as just written for gc's grace period,
so prune before repacking.

-f, --force   rewrite even a lone pack (e.g. to deltify a pack written whole)
--window N    objects each one is tried against (default ${DEFAULT_DELTA_PARAMS.window}; git's --window)
--depth N     longest delta chain (default ${DEFAULT_DELTA_PARAMS.depth}; git's --depth)
--no-delta    store every object whole (same as --window 0)
--threads N   threads for delta search (default: every core; 0: the main thread only)
--lock-wait DURATION  wait this long for the upkeep lock (default 0)
--json        print {silo, changed, foldedLoose, foldedPacks, keptPacks, objects, deltas, maxDepth, slices, newPack, notes}
`,
  async run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: {
        small: { type: 'string' }, force: { type: 'boolean', short: 'f' }, window: { type: 'string' }, depth: { type: 'string' },
        'no-delta': { type: 'boolean' }, threads: { type: 'string' }, json: { type: 'boolean' }, 'lock-wait': { type: 'string' },
      },
    });
    if (positionals.length !== 1) usage('repack takes one silo directory');
    const smallerThan = values.small === undefined ? undefined : parseSize(values.small, '--small');
    const window = values['no-delta'] === true ? 0 : count(values.window, '--window');
    const depth = count(values.depth, '--depth');
    const threads = count(values.threads, '--threads');
    const lockWaitMs = parseDuration(values['lock-wait'] ?? '0', '--lock-wait');
    const report = await repack(positionals[0]!, {
      lockWaitMs, command: `silo repack ${positionals[0]}`,
      ...(smallerThan === undefined ? {} : { smallerThan }),
      ...(values.force === true ? { force: true } : {}),
      ...(threads === undefined ? {} : { threads }),
      delta: { ...(window === undefined ? {} : { window }), ...(depth === undefined ? {} : { depth }) },
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return EXIT_OK;
  },
};
