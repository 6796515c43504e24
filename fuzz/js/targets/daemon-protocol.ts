// medod's control protocol (lib/daemon-protocol.ts, docs/protocol.md), both ends. The first byte picks
// which: a request line as the daemon parses it (a request that parses re-encodes to a line that parses
// the same, and a refused one is ERR_PROTOCOL carrying its numeric id), or the bytes a daemon answers
// with, as `request` reads them from a real Unix socket (a value only for an "ok" response, whose
// result it is; otherwise a MedoError).
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LINE_BYTES, PROTOCOL_VERSION, parseRequest, request } from '../../../lib/daemon-protocol.js';
import { isMedoError } from '../../../lib/errors.js';
import { asyncTarget, check, checkSame, isRefusal, outcome, outcomeAsync } from '../harness.js';

const socket = join(process.env.MEDO_FUZZ_TMP ?? tmpdir(), `medo-fuzz-protocol-${process.pid}.sock`);
let reply: Buffer = Buffer.alloc(0);
const server = createServer((conn: Socket) => {
  conn.on('error', () => {});
  conn.once('data', () => conn.end(reply));
});
const listening = new Promise<void>((resolve) => {
  rmSync(socket, { force: true });
  server.listen(socket, resolve);
});
server.unref();

function requestLine(line: string): void {
  const r = outcome(() => parseRequest(line), ['ERR_PROTOCOL']);
  if (isRefusal(r)) {
    let id: unknown;
    try {
      id = (JSON.parse(line) as { id?: unknown }).id;
    } catch {
      // not JSON: no id to carry
    }
    if (typeof id === 'number' && Number.isFinite(id)) {
      try {
        parseRequest(line);
      } catch (e) {
        check(isMedoError(e) && Object.is(e.data.id, id), 'a refused request does not carry its id');
      }
    }
    return;
  }
  const again = parseRequest(JSON.stringify({ v: PROTOCOL_VERSION, ...(r.id === undefined ? {} : { id: r.id }), ...r.request }));
  checkSame(again, r, 'request after re-encoding');
  if (r.request.op === 'mount') check(r.request.source.startsWith('/') && r.request.mountpoint.startsWith('/'), 'relative mount paths accepted');
}

async function response(bytes: Buffer): Promise<void> {
  await listening;
  reply = bytes;
  const got = await outcomeAsync(() => request({ op: 'status' }, { socket, timeoutMs: 5000 }));
  const text = bytes.toString('utf8');
  const nl = text.indexOf('\n');
  let parsed: { ok?: unknown; result?: unknown } | undefined;
  try {
    parsed = nl >= 0 && nl <= MAX_LINE_BYTES ? JSON.parse(text.slice(0, nl)) as typeof parsed : undefined;
  } catch {
    parsed = undefined;
  }
  if (isRefusal(got)) {
    check(!(parsed?.ok) || got.code !== 'ERR_PROTOCOL', 'a well-formed ok response refused');
    return;
  }
  check(parsed !== undefined && parsed !== null && Boolean(parsed.ok), `resolved ${JSON.stringify(got)} from a response that is not ok`);
  checkSame(got, parsed.result, 'the result is not the response\'s');
}

export const fuzz = asyncTarget(async (data) => {
  const rest = data.subarray(1);
  if (((data[0] ?? 0) & 1) === 0) requestLine(rest.toString('utf8'));
  else await response(rest);
});
