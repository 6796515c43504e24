// `silo cat-file`: git's cat-file over a silo or a git repository, byte for byte, so that git can be the
// oracle for everything our object layer reads.
import { writevSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { MedoError } from '../../lib/errors.js';
import { formatTreeEntry, parseTree } from '../../lib/git/tree.js';
import { quotePath } from '../../lib/git/quote.js';
import { isOid } from '../../lib/oid.js';
import { openStore } from '../../lib/open-store.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';
import type { ObjectStore, RawObject } from '../../lib/store.js';

const FLUSH_BYTES = 1 << 20;
// writev(2) takes at most IOV_MAX (1024 on Linux) buffers per call.
const IOV_MAX = 1024;

/**
 * Writes batches of buffers to the output. When the output is our stdout, writev(2) on fd 1 sends the
 * pieces (headers and object contents) without first copying them into one buffer; Node keeps stdout
 * blocking for files and pipes on Linux. If the descriptor turns out to be non-blocking (EAGAIN), it falls
 * back to the stream for the rest of the run.
 */
class BatchSink {
  private direct: boolean;

  constructor(private readonly out: Writable) {
    this.direct = out === process.stdout;
  }

  write(parts: Buffer[], total: number): void {
    if (this.direct) {
      try {
        this.writev(parts);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        this.direct = false;
        // Some bytes may have gone out before EAGAIN: writev() left `parts` holding exactly the rest.
        total = parts.reduce((n, p) => n + p.length, 0);
      }
    }
    this.out.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, total));
  }

  /** Writes every byte of `parts`, consuming it from the front as it goes. */
  private writev(parts: Buffer[]): void {
    while (parts.length > 0) {
      const batch = parts.length > IOV_MAX ? parts.slice(0, IOV_MAX) : parts;
      let written = writevSync(1, batch);
      let k = 0;
      while (k < batch.length && written >= batch[k]!.length) written -= batch[k++]!.length;
      parts.splice(0, k);
      if (written > 0) parts[0] = parts[0]!.subarray(written);
    }
  }
}
const LF = Buffer.from('\n');

/**
 * `--batch`: each input line names an object; the answer is `<id> <type> <size>\n<content>\n` or
 * `<line> missing\n`. Output is flushed whenever the input read so far is answered, so a caller that
 * waits for each answer before asking the next (git's non --buffer mode) is never left waiting.
 */
export async function catFileBatch(store: ObjectStore, input: Readable, out: Writable): Promise<void> {
  const sink = new BatchSink(out);
  let parts: Buffer[] = [];
  let pending = 0;
  const flush = (): void => {
    if (pending === 0) return;
    sink.write(parts, pending);
    parts = [];
    pending = 0;
  };
  const answer = (line: string): void => {
    const o = isOid(line) ? store.read(line) : undefined;
    if (o === undefined) {
      const missing = Buffer.from(`${line} missing\n`, 'latin1');
      parts.push(missing);
      pending += missing.length;
      return;
    }
    const header = Buffer.from(`${line} ${o.type} ${o.content.length}\n`, 'latin1');
    parts.push(header, o.content, LF);
    pending += header.length + o.content.length + 1;
    if (pending >= FLUSH_BYTES) flush();
  };
  let carry = '';
  for await (const chunk of input) {
    const lines = (carry + (chunk as Buffer).toString('latin1')).split('\n');
    carry = lines.pop()!;
    for (const line of lines) answer(line);
    flush();
  }
  if (carry !== '') answer(carry);
  flush();
}

/** The object `oid`, or a MedoError that names the store. */
export function mustRead(store: ObjectStore, oid: string): RawObject {
  if (!isOid(oid)) throw new MedoError('ERR_USAGE', `not an object id (40 hex digits): ${oid}`);
  const o = store.read(oid);
  if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `${oid}: no such object in ${store.path}`, { oid });
  return o;
}

/** `cat-file -p`: trees as `ls-tree` lines, everything else raw. */
export function prettyPrint(o: RawObject, oid: string): Buffer {
  if (o.type !== 'tree') return o.content;
  const lines = parseTree(o.content, oid).map((e) => `${formatTreeEntry(e, quotePath)}\n`);
  return Buffer.from(lines.join(''), 'utf8');
}

export const catFileCommand: Command = {
  name: 'cat-file',
  help: `usage: silo cat-file --batch STORE
       silo cat-file (-p | -t | -s) STORE ID

STORE is a silo or a git repository. --batch reads object ids on stdin and answers each exactly as
'git cat-file --batch' does: '<id> <type> <size>' and the content, or '<line> missing'. -p prints one
object (a tree as ls-tree lines), -t its type, -s its size.
`,
  async run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: { batch: { type: 'boolean' }, p: { type: 'boolean', short: 'p' }, t: { type: 'boolean', short: 't' }, s: { type: 'boolean', short: 's' } },
    });
    if ([values.batch, values.p, values.t, values.s].filter(Boolean).length !== 1) usage('cat-file takes exactly one of --batch, -p, -t, -s');
    if (positionals.length !== (values.batch ? 1 : 2)) usage(values.batch ? 'cat-file --batch takes STORE' : 'cat-file takes STORE ID');
    const store = openStore(positionals[0]!);
    try {
      if (values.batch) {
        await catFileBatch(store, process.stdin, process.stdout);
      } else {
        const oid = positionals[1]!;
        const o = mustRead(store, oid);
        process.stdout.write(values.t ? `${o.type}\n` : values.s ? `${o.content.length}\n` : prettyPrint(o, oid));
      }
    } finally {
      store.close();
    }
    return EXIT_OK;
  },
};
