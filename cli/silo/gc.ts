// `silo gc`: what a keep list leaves unreachable in a silo; with --prune, remove it.
import { readFileSync } from 'node:fs';
import { parseDuration } from '../../lib/silo/duration.js';
import { gc, parseKeepList, type GcReport } from '../../lib/silo/gc.js';
import type { Command } from '../command.js';
import { formatBytes } from '../progress.js';
import { EXIT_OK, parse, usage } from '../run.js';


function formatReport(r: GcReport): string {
  const lines = [`${r.silo}: ${r.objects} objects; keep list: ${r.keepListed} ids, ${r.live} objects here kept`];
  if (r.deltaBases.length > 0) lines.push(`  ${r.deltaBases.length} more kept as delta bases of packs that stay`);
  lines.push(`unreachable: ${r.unreachable.count} objects, ${formatBytes(r.unreachable.bytes)}`);
  if (r.spared.count > 0) {
    lines.push(`spared: ${r.spared.count} more unreachable objects stay: the files holding them were written or freshened since ${r.sparedSince ?? 'ever'}`);
  }
  for (const f of r.loose) lines.push(`  loose ${f.path} (${formatBytes(f.bytes)})${f.action === 'too-recent' ? ': too recent to remove' : ''}`);
  for (const p of r.packs) {
    const what = p.action === 'untouched' ? 'nothing unreachable -> untouched'
      : p.action === 'delete' ? `all ${p.objects} objects unreachable -> delete`
        : p.action === 'rewrite' ? `${p.dead} of ${p.objects} objects unreachable (${formatBytes(p.deadBytes)}) -> rewrite without them`
          : p.action === 'too-recent' ? `${p.dead} of ${p.objects} objects unreachable, but the pack is too recent -> untouched`
            : `${p.dead} of ${p.objects} objects unreachable, but it has a .keep file -> untouched`;
    lines.push(`  pack  ${p.pack}: ${what}`);
  }
  for (const f of r.strays) {
    const what = f.kind === 'temp' ? 'leftover temp file' : '.pack without its .idx (an interrupted write)';
    lines.push(`  stray ${f.path}: ${what}, ${f.action === 'remove' ? 'removed by --prune' : 'too recent to remove (a writer may be at work)'}`);
  }
  for (const d of r.derived) {
    if (d.action === 'keep') continue;
    const what = d.kind === 'form' ? `${d.form} of tree ${d.tree!.slice(0, 12)}, not kept`
      : d.kind === 'delta' ? `static delta ${d.from!.slice(0, 12)} -> ${d.tree!.slice(0, 12)}, whose TO is not kept`
        : 'left by an interrupted derive or delta';
    const how = d.action === 'too-recent' ? 'too recent to remove' : r.pruned ? 'removed' : 'removed by --prune';
    lines.push(`  derived ${d.files.join(' + ')} (${formatBytes(d.bytes)}): ${what}, ${how}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  const derivedGone = r.derived.filter((d) => d.action === 'remove').length;
  if (!r.pruned) lines.push(r.unreachable.count + derivedGone === 0 ? 'nothing to remove' : 'dry run: nothing removed (--prune removes them)');
  else {
    lines.push(`pruned: ${r.unreachable.count} objects removed${derivedGone === 0 ? '' : `, and ${derivedGone} derived file set(s)`}` +
      `${r.newPack === undefined ? '' : `; survivors of rewritten packs are in ${r.newPack}`}`);
  }
  return `${lines.join('\n')}\n`;
}

export const gcCommand: Command = {
  name: 'gc',
  help: `usage: silo gc [--prune] [--prune-expire DURATION] [--lock-wait DURATION] [--allow-empty] [--json] SILO --keep FILE|-

FILE ('-' for stdin) lists the object ids to keep, one per line: the output of 'medo reachable' for
every medo directory that uses SILO. Blank lines are ignored; any other line that is not a 40-hex id is
a usage error naming the line. Ids the silo does not hold are fine (they live in other silos).

Without --prune, reports what is unreachable (nothing changes): the count and bytes, each loose file
that would be deleted, and for each pack whether it would be rewritten, deleted or left untouched.
--prune removes it: unreachable loose files are deleted; a pack holding unreachable objects is rewritten
without them (the survivors go into one new pack, written and synced before any old file is deleted;
the old pack goes .idx first, then .pack), a pack holding only unreachable objects is deleted, a pack
holding none is not touched, nor is one with a .keep file. A kept object is never removed, nor a delta
base that a pack left in place still needs. Survivors of rewritten packs are stored whole (no deltas).
A prune whose keep list names none of the silo's objects is refused unless --allow-empty is given.
What an interrupted writer left (temp files, a .pack whose .idx never landed) is listed as 'stray'.
derived/ follows its trees: a derived form (silo derive) goes when its tree is not on the keep list, a
static delta (silo delta) when its TO is not (its FROM may be gone: hosts holding FROM still use it);
listings first, then files. What an interrupted derive or delta left goes too, once older than the
grace period. A silo browser's catalog (browse/) showing trees the list leaves out gets a note.

Grace period (safe beside running 'medo add's): no file -- loose object, pack, stray -- written or
freshened less than DURATION ago (--prune-expire, default 1h), or since the oldest 'medo add' still
running began, is removed, whatever it holds; its unreachable objects are reported as spared. An add
freshens what it reuses, so a prune never robs it. 'now' removes everything unreachable that no running
add has touched; use it only when the keep list was made after every add it must cover had finished.
'never' removes nothing. DURATION: now, never, or a number with s, m, h, d or w (90s, 30m, 2d).

--prune holds the silo's upkeep lock (locks/upkeep.lock), as 'silo repack' does: one waits for the
other up to --lock-wait (default 0: fail at once, exit 3, naming the holder; 'silo unlock' breaks a
lock whose holder is gone).

--json  print {silo, keepListed, objects, live, deltaBases, unreachable: {count, bytes, oids},
        spared: {count, oids}, sparedSince, loose: [{oid, path, bytes, mtimeMs, action}],
        strays: [{path, bytes, mtimeMs, kind, action}],
        packs: [{pack, objects, dead, deadBytes, action}],
        derived: [{kind, files, tree, from, form, bytes, mtimeMs, action}], pruned, newPack, notes}
`,
  run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: {
        keep: { type: 'string' }, prune: { type: 'boolean' }, 'allow-empty': { type: 'boolean' }, json: { type: 'boolean' },
        'prune-expire': { type: 'string' }, 'lock-wait': { type: 'string' },
      },
    });
    if (positionals.length !== 1) usage('gc takes one silo directory');
    const pruneExpireMs = parseDuration(values['prune-expire'] ?? '1h', '--prune-expire');
    const lockWaitMs = parseDuration(values['lock-wait'] ?? '0', '--lock-wait');
    if (values.keep === undefined) usage('gc needs --keep FILE (or --keep - for stdin): the ids to keep, from medo reachable');
    let text: string;
    try {
      text = readFileSync(values.keep === '-' ? 0 : values.keep, 'utf8');
    } catch (e) {
      return usage(`--keep ${values.keep}: cannot read it (${(e as Error).message})`);
    }
    const keep = parseKeepList(text, values.keep === '-' ? '<stdin>' : values.keep);
    const report = gc(positionals[0]!, keep, {
      prune: values.prune ?? false, allowEmpty: values['allow-empty'] ?? false, pruneExpireMs, lockWaitMs,
      command: `silo gc --prune ${positionals[0]}`,
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return EXIT_OK;
  },
};
