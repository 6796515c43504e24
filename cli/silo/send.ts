// `silo send SRC DEST`: copy what DEST lacks of a set of objects (lib/silo/send.ts).
import { readFileSync } from 'node:fs';
import { MedoError } from '../../lib/errors.js';
import { ReachableWalk } from '../../lib/medo/reachable.js';
import { readTreeptr } from '../../lib/medo/treeptr.js';
import { parseKeepList } from '../../lib/silo/gc.js';
import { describeDestination, parseDestination, send, spawnReceiver, waitExit, type SendReport, type SendStage } from '../../lib/silo/send.js';
import { Silo } from '../../lib/silo/silo.js';
import type { Command } from '../command.js';
import { formatBytes } from '../progress.js';
import { EXIT_OK, parse, usage } from '../run.js';
import { collectGroups, shown } from '../treeptr-args.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The ids to send: the keep list's that SRC holds, and every object the .treeptrs need (which SRC must hold). */
function wantedIds(srcDir: string, keepFile: string | undefined, paths: readonly string[]): { ids: string[]; notInSource: number } {
  const silo = Silo.open(srcDir);
  try {
    const ids = new Set<string>();
    let notInSource = 0;
    if (keepFile !== undefined) {
      let text: string;
      try {
        text = readFileSync(keepFile === '-' ? 0 : keepFile, 'utf8');
      } catch (e) {
        return usage(`--keep ${keepFile}: cannot read it (${(e as Error).message})`);
      }
      for (const oid of parseKeepList(text, keepFile === '-' ? '<stdin>' : keepFile)) {
        if (silo.has(oid)) ids.add(oid);
        else notInSource++;
      }
    }
    if (paths.length > 0) {
      const walk = new ReachableWalk(silo, srcDir);
      for (const g of collectGroups(paths).values()) {
        for (const abs of [...g.treeptrs].sort()) walk.add({ label: shown(abs), treeptr: readTreeptr(abs), required: true });
      }
      for (const oid of walk.ids()) ids.add(oid);
    }
    return { ids: [...ids].sort(), notInSource };
  } finally {
    silo.close();
  }
}

function progress(json: boolean): ((stage: SendStage, done: number, total: number) => void) | undefined {
  if (json || process.stderr.isTTY !== true || process.env.CI !== undefined) return undefined;
  let last = 0;
  return (stage, done, total) => {
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    const what = stage === 'negotiate' ? `comparing ${plural(total, 'id')} with the destination`
      : stage === 'pack' ? `packing ${done}/${total} objects` : `sending ${formatBytes(done)} of ${formatBytes(total)}`;
    process.stderr.write(`\rsend: ${what}\x1b[K${done >= total && stage === 'send' ? '\n' : ''}`);
  };
}

function formatReport(r: SendReport & { dest: string; notInSource: number }): string {
  const lines: string[] = [];
  if (r.needed === 0) lines.push(`${r.dest} holds all ${plural(r.offered, 'object')} already: nothing sent`);
  else {
    lines.push(`sent ${r.objects} of ${plural(r.offered, 'object')} to ${r.dest}${r.created ? ' (a new silo)' : ''}: ` +
      `${formatBytes(r.packBytes + r.idxBytes)} in ${r.pack ?? 'a pack'}, ${r.deltas} of them as deltas`);
  }
  if (r.notInSource > 0) lines.push(`note: ${plural(r.notInSource, 'id')} of the keep list ${r.notInSource === 1 ? 'is' : 'are'} not in ${r.src}: not sent`);
  return `${lines.join('\n')}\n`;
}

export const sendCommand: Command = {
  name: 'send',
  help: `usage: silo send [--keep FILE|-] [--receiver CMD] [--json] SRC DEST [TREEPTR|MEDO_DIR]...

Copies into the silo DEST exactly the objects it lacks of a set: the ids of --keep FILE ('-' for stdin;
the output of 'medo reachable', one id per line; ids SRC does not hold are skipped with a note) and every
object the .treeptrs need (a medo directory stands for every .treeptr below it; SRC must hold them all).

DEST is a local path or ssh://[user@]host[:port]/path. The far side runs 'silo receive PATH' (over ssh,
as git's send-pack runs receive-pack): the two sides first compare ids, then only what DEST lacks moves,
as one pack, with the deltas SRC has where their bases go too or DEST has them. The receiver checks the
pack as 'git verify-pack' does and every object against its id, and that it holds exactly what was asked
for, before anything becomes visible; the pack list is updated last. A DEST that is missing or an empty
directory becomes a new silo. Nothing is sent when DEST holds everything, and the command says so.

--keep FILE      ids to send, one per line ('-': stdin)
--receiver CMD   the command that runs on the far side, before the quoted path (default 'silo receive';
                 e.g. '/opt/medo/bin/silo receive' when silo is not on the far host's PATH)
--json           print {src, dest, offered, needed, objects, deltas, packBytes, idxBytes, pack, created, notInSource}

MEDO_SSH_COMMAND  the ssh client to run, through the shell (default: ssh), e.g.
                  'ssh -i ~/.ssh/medo -o BatchMode=yes'
Progress goes to stderr when it is a terminal. Exit status: 0 sent (or nothing to send), 2 bad usage,
3 failure (the receiver's error is shown; DEST is left as it was).
`,
  async run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: { keep: { type: 'string' }, receiver: { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length < 2) usage('send takes SRC and DEST, then optionally .treeptrs or medo directories');
    const [src, destSpec, ...paths] = positionals as [string, string, ...string[]];
    if (values.keep === undefined && paths.length === 0) usage('send needs --keep FILE|- or at least one .treeptr or medo directory: what to send');
    const dest = parseDestination(destSpec);
    const { ids, notInSource } = wantedIds(src, values.keep, paths);
    const shownDest = describeDestination(dest);
    const dieAt = process.env.MEDO_TEST_RECEIVE_DIE_AT;
    const child = spawnReceiver(dest, {
      localSilo: [process.execPath, process.argv[1]!],
      ...(values.receiver === undefined ? {} : { receiver: values.receiver }),
      ...(process.env.MEDO_SSH_COMMAND === undefined ? {} : { sshCommand: process.env.MEDO_SSH_COMMAND }),
      ...(dieAt === undefined ? {} : { env: { MEDO_TEST_RECEIVE_DIE_AT: dieAt } }),
    });
    const spawnFailed = new Promise<never>((_, reject) => child.once('error', (e) => reject(
      new MedoError('ERR_REMOTE', `cannot start the receiver for ${shownDest}: ${e.message}`, { path: shownDest }))));
    const exited = waitExit(child);
    let report: SendReport;
    try {
      report = await Promise.race([send(src, ids, child.stdout!, child.stdin!, { peer: `the receiver at ${shownDest}`, onProgress: progress(values.json === true) }), spawnFailed]);
    } catch (e) {
      child.stdin!.destroy();
      const how = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 5000))]);
      if (how === 'still running') child.kill('SIGTERM');
      if (e instanceof MedoError && e.code === 'ERR_PROTOCOL' && how !== 'exit 0') {
        throw new MedoError('ERR_REMOTE', `${e.message} (the receiver: ${how}); ${shownDest} is left as it was`, { path: shownDest }, { cause: e });
      }
      throw e;
    }
    child.stdin!.end();
    const how = await exited;
    if (how !== 'exit 0') throw new MedoError('ERR_REMOTE', `the receiver at ${shownDest} reported success but then ended with ${how}`, { path: shownDest });
    const out = { ...report, dest: shownDest, notInSource };
    process.stdout.write(values.json ? `${JSON.stringify(out, null, 2)}\n` : formatReport(out));
    return EXIT_OK;
  },
};
