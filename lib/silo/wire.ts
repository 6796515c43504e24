// The framing of `silo send` / `silo receive` (docs/formats.md, "The send protocol"): JSON messages, one
// per line, and raw byte runs whose length a message announced, read through a ByteQueue: a peer cannot
// make the reader hold more than one line of at most MAX_LINE_BYTES (and one chunk) beyond what it asked for.
import type { Readable, Writable } from 'node:stream';
import { MedoError } from '../errors.js';
import { ByteQueue } from '../tar/byte-queue.js';

export const SEND_PROTOCOL = 'medo-send';
export const SEND_VERSION = 1;
/** Ids per "want" or "need" message. */
export const IDS_PER_MESSAGE = 10_000;
/** A line is at most this long: IDS_PER_MESSAGE quoted ids and a little more. */
export const MAX_LINE_BYTES = IDS_PER_MESSAGE * 43 + 4096;

export type Message = Record<string, unknown> & { op: string };

function protocolError(peer: string, why: string): MedoError {
  return new MedoError('ERR_PROTOCOL', `${peer}: ${why}`, { path: peer });
}

/** Reads lines and byte runs from a stream, in order. */
export class WireReader {
  private readonly queue: ByteQueue;

  /** `peer` names the other side in errors ("the receiver on host", "the sender"). */
  constructor(stream: Readable, readonly peer: string) {
    this.queue = new ByteQueue((stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]());
  }

  /** The next message; `what` says what was expected, for the error when the stream ends or breaks. */
  async message(what: string): Promise<Message> {
    const got = await this.queue.readLine(MAX_LINE_BYTES);
    if (got === 'too-long') throw protocolError(this.peer, `sent a line longer than ${MAX_LINE_BYTES} bytes`);
    if (got === 'end') throw protocolError(this.peer, `closed the connection where ${what} was expected`);
    const line = got.toString('utf8');
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      throw protocolError(this.peer, `sent a line that is not JSON where ${what} was expected: ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m) || typeof (m as Message).op !== 'string') {
      throw protocolError(this.peer, `sent a message without an "op" where ${what} was expected`);
    }
    return m as Message;
  }

  /** Passes exactly `n` bytes to `sink`, chunk by chunk. */
  async bytes(n: number, what: string, sink: (chunk: Buffer) => void): Promise<void> {
    const got = await this.queue.forward(n, sink);
    if (got < n) throw protocolError(this.peer, `closed the connection after ${got} of the ${n} bytes of ${what}`);
  }
}

/** Writes messages and bytes, waiting when the stream asks to (a slow ssh link). */
export class WireWriter {
  private failed: Error | undefined;

  constructor(private readonly stream: Writable, readonly peer: string) {
    stream.on('error', (e) => {
      this.failed = e;
    });
  }

  async write(data: Buffer | string): Promise<void> {
    if (this.failed !== undefined) throw protocolError(this.peer, `the connection broke (${this.failed.message})`);
    if (this.stream.write(data)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', fail);
        this.stream.off('close', done);
        resolve();
      };
      const fail = (e: Error): void => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        reject(protocolError(this.peer, `the connection broke (${e.message})`));
      };
      this.stream.once('drain', done);
      this.stream.once('close', done);
      this.stream.once('error', fail);
    });
  }

  send(m: Message): Promise<void> {
    return this.write(`${JSON.stringify(m)}\n`);
  }

  /** Sends `ids` as messages of `op` in batches, then `{op: end, count}`. */
  async sendIds(op: string, end: string, ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += IDS_PER_MESSAGE) await this.send({ op, ids: ids.slice(i, i + IDS_PER_MESSAGE) });
    await this.send({ op: end, count: ids.length });
  }
}

/**
 * Reads batches of `op` up to `{op: end, count}`; each id must be 40 lowercase hex digits (never a name
 * or a path) and the count must match. At most `limit` ids are accepted.
 */
export async function readIds(r: WireReader, op: string, end: string, limit: number, isValid: (s: string) => boolean): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const m = await r.message(`"${op}" or "${end}"`);
    if (m.op === 'error') throw peerError(r.peer, m);
    if (m.op === end) {
      if (m.count !== ids.length) throw protocolError(r.peer, `announced ${String(m.count)} ids in "${end}" but sent ${ids.length}`);
      return ids;
    }
    if (m.op !== op || !Array.isArray(m.ids)) throw protocolError(r.peer, `sent "${m.op}" where "${op}" or "${end}" was expected`);
    for (const id of m.ids as unknown[]) {
      if (typeof id !== 'string' || !isValid(id)) {
        throw protocolError(r.peer, `sent ${JSON.stringify(String(id).slice(0, 80))} in "${op}", which is not an object id (40 lowercase hex digits)`);
      }
      ids.push(id);
    }
    if (ids.length > limit) throw protocolError(r.peer, `sent more than ${limit} ids in "${op}"`);
  }
}

/** The error a peer reported in an {op: "error", code, message} message, as a MedoError of its code. */
export function peerError(peer: string, m: Message): MedoError {
  const code = typeof m.code === 'string' && m.code.startsWith('ERR_') ? m.code : 'ERR_PROTOCOL';
  const message = typeof m.message === 'string' ? m.message : 'failed without saying why';
  return new MedoError(code as 'ERR_PROTOCOL', `${peer}: ${message}`, { path: peer });
}
