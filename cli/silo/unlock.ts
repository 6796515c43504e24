// `silo unlock`: show the locks of a silo, and break those whose holder is gone.
import { breakLock, listLocks, type LockInfo } from '../../lib/silo/lock.js';
import { Silo } from '../../lib/silo/silo.js';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEMS, parse, usage } from '../run.js';

type Action = 'broken' | 'left' | 'gone';

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

function formatLock(l: LockInfo, action: Action): string {
  const who = l.owner === undefined ? 'an unreadable lock file' : `${l.owner.command}, pid ${l.owner.pid} on ${l.owner.host}, since ${l.owner.started}`;
  const what = action === 'broken' ? 'broken' : action === 'gone' ? 'already gone' : l.state === 'held' ? 'left (--force breaks it)' : 'left (--dry-run)';
  return `${l.name}: ${l.state}: ${who} (${formatAge(l.ageMs)} old; ${l.why}) -> ${what}`;
}

export const unlockCommand: Command = {
  name: 'unlock',
  help: `usage: silo unlock [--force] [--dry-run] [--json] SILO

Shows the locks in SILO/locks/ and breaks those whose holder is gone: 'upkeep' (held by 'silo repack'
and 'silo gc --prune') and one 'add-*' per running 'medo add'. Each lock file records its holder's host,
pid, command and start time. A lock is 'dead' when its holder ran on this host and its pid is gone,
'expired' when it is older than the age it allows itself (12 h for upkeep, 24 h for an add), and 'held'
otherwise (its holder runs, or runs on another host where its pid cannot be checked). Dead and expired
locks are broken; held ones are left unless --force is given, which breaks every lock: use it only when
you know the holder is gone (a crashed host) or stopped.

--dry-run  show, break nothing
--json     print {silo, locks: [{path, name, owner: {host, pid, command, started, maxAgeSeconds}, state,
           ageMs, why, action}]}

Exit status: 0 when no lock is left held, 1 when one is.
`,
  run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true, options: { force: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
    });
    if (positionals.length !== 1) usage('unlock takes one silo directory');
    if (values.force && values['dry-run']) usage('--force and --dry-run contradict each other');
    const dir = positionals[0]!;
    Silo.open(dir).close(); // a silo, or a clear error
    const done = listLocks(dir).map((l) => {
      const breakIt = !values['dry-run'] && (values.force || l.state !== 'held');
      const action: Action = breakIt ? (breakLock(l) ? 'broken' : 'gone') : 'left';
      return { lock: l, action };
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ silo: dir, locks: done.map((d) => ({ ...d.lock, identity: undefined, mtimeMs: undefined, action: d.action })) }, null, 2)}\n`);
    } else {
      const lines = done.map((d) => formatLock(d.lock, d.action));
      process.stdout.write(`${lines.length === 0 ? `${dir}: no locks` : lines.join('\n')}\n`);
    }
    return done.some((d) => d.action === 'left' && d.lock.state === 'held') ? EXIT_PROBLEMS : EXIT_OK;
  },
};
