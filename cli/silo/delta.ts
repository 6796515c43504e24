// `silo delta FROM TO`: a static delta between two versions, under the silo's derived/deltas/.
import { existsSync } from 'node:fs';
import { MedoError } from '../../lib/errors.js';
import { MedoDir } from '../../lib/medo/medo-dir.js';
import { readTreeptr } from '../../lib/medo/treeptr.js';
import { isOid } from '../../lib/oid.js';
import { parseDuration } from '../../lib/silo/duration.js';
import { Silo } from '../../lib/silo/silo.js';
import { writeStaticDelta, type Version } from '../../lib/silo/static-delta.js';
import type { Command } from '../command.js';
import { formatBytes } from '../progress.js';
import { EXIT_OK, parse, usage } from '../run.js';

function version(arg: string, what: string): { v: Version; medo?: string } {
  if (isOid(arg) && !existsSync(arg)) return { v: { tree: arg.toLowerCase() } };
  if (!arg.endsWith('.treeptr')) usage(`${what} must be a .treeptr or a tree id, not ${JSON.stringify(arg)}`);
  const t = readTreeptr(arg);
  if (t.tree === undefined) throw new MedoError('ERR_USAGE', `${what}: ${arg} names a blob, not a tree: a static delta is between trees`, { path: arg });
  return { v: { tree: t.tree, ...(t.meta === undefined ? {} : { meta: t.meta }) }, medo: arg };
}

export const deltaCommand: Command = {
  name: 'delta',
  help: `usage: silo delta [--silo DIR] [--lock-wait DURATION] [--json] FROM TO

Writes a static delta from version FROM to version TO (each a .treeptr, or a tree id with --silo):
a thin pack derived/deltas/FROM-TO.pack holding exactly the objects TO has and FROM lacks, each
stored as a REF_DELTA against an object of FROM where that is smaller (same path first, then the same
path below a renamed top directory, then a file of the same name) or whole, with its .idx; then it is
listed in derived/deltas/TO.list, what clients read, and in the silo's catalogue
derived/deltas/index.json (docs/formats.md). A static web server serving the silo serves the
deltas too: 'medo expand', 'prefetch' and 'mount' of TO on a host whose cache holds FROM fetch the
delta instead of every changed object (docs/remote.md). Making the same pair again replaces it.

The silo is the one the .treeptrs' medo directory writes to, or --silo DIR; FROM's and TO's objects
must be in it. When FROM and TO are .treeptrs, their metadata sidecars go along (TO's in the pack).

It holds the silo's upkeep lock (locks/upkeep.lock) while it writes, as 'silo repack' and 'silo gc
--prune' do: the listings are shared. 'silo gc --prune' removes the deltas into a TO that its keep
list no longer names.

--silo DIR            the silo to read and write (required with tree ids)
--lock-wait DURATION  wait this long for the upkeep lock (default 0: fail at once, exit 3)
--json                print {silo, entry: {from, to, pack, packBytes, idxBytes, objects, ...}, deltas, whole, wholeBytes}
`,
  run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true, options: { silo: { type: 'string' }, json: { type: 'boolean' }, 'lock-wait': { type: 'string' } },
    });
    if (positionals.length !== 2) usage('delta takes FROM and TO');
    const lockWaitMs = parseDuration(values['lock-wait'] ?? '0', '--lock-wait');
    const from = version(positionals[0]!, 'FROM');
    const to = version(positionals[1]!, 'TO');
    let silo: Silo;
    if (values.silo !== undefined) silo = Silo.open(values.silo);
    else if (to.medo !== undefined) silo = MedoDir.containing(to.medo).writableSilo();
    else return usage('with tree ids, say which silo with --silo DIR');
    try {
      const r = writeStaticDelta(silo, from.v, to.v, { lockWaitMs, command: `silo delta ${positionals.join(' ')}` });
      if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else {
        process.stdout.write(`${r.silo}: static delta ${r.entry.from.slice(0, 12)} -> ${r.entry.to.slice(0, 12)}: ${r.entry.objects} objects ` +
          `(${r.deltas} deltas, ${r.whole} whole) in ${formatBytes(r.entry.packBytes)} (${formatBytes(r.wholeBytes)} whole); ` +
          `derived/deltas/${r.entry.pack}.pack${r.replaced === undefined ? '' : `, replacing ${r.replaced}`}\n`);
      }
      return EXIT_OK;
    } finally {
      silo.close();
    }
  },
};
