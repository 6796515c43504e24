// `silo repack`: fold loose objects and small packs into one pack.
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
    const into = r.newPack === undefined ? 'nothing new (every object was already in a pack that stays)' : `${r.newPack} (${r.objects} objects)`;
    lines.push(`${r.silo}: folded ${plural(r.foldedLoose, 'loose object')} and ${plural(r.foldedPacks.length, 'pack')} into ${into}`);
  }
  if (r.keptPacks.length > 0) lines.push(`left as they are: ${plural(r.keptPacks.length, 'pack')} (at or over --small, or with a .keep file)`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}

export const repackCommand: Command = {
  name: 'repack',
  help: `usage: silo repack [--small SIZE] [--lock-wait DURATION] [--json] SILO

Copies every loose object and every pack smaller than SIZE (default: every pack) into one new pack,
then deletes what it replaced: the new pack is written and synced first, then each old pack goes (.idx
first, then .pack), then the loose files, so a crash at any point loses nothing. Packs with a .keep file
are left alone. A silo with no loose objects and at most one pack to fold is left as it is, so a second
run changes nothing. Objects are stored whole: zlib data is reused, deltas (from packs git made) are
resolved. SIZE is bytes, or a number with k, M, G or T (powers of 1024): --small 16M.

Safe beside running 'medo add's and readers: nothing it did not copy is deleted, and the pack list
names the new pack before any old file goes. It holds the silo's upkeep lock (locks/upkeep.lock), as
'silo gc --prune' does: one waits for the other up to --lock-wait DURATION (default 0: fail at once,
exit 3, naming the holder; 30s, 10m, 1h). The new pack counts as just written for gc's grace period,
so prune before repacking.

--json  print {silo, changed, foldedLoose, foldedPacks, keptPacks, objects, newPack, notes}
`,
  run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: { small: { type: 'string' }, json: { type: 'boolean' }, 'lock-wait': { type: 'string' } },
    });
    if (positionals.length !== 1) usage('repack takes one silo directory');
    const smallerThan = values.small === undefined ? undefined : parseSize(values.small, '--small');
    const lockWaitMs = parseDuration(values['lock-wait'] ?? '0', '--lock-wait');
    const command = `silo repack ${positionals[0]}`;
    const report = repack(positionals[0]!, smallerThan === undefined ? { lockWaitMs, command } : { smallerThan, lockWaitMs, command });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return EXIT_OK;
  },
};
