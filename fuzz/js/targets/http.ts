// What a static web server sends a remote-silo reader (lib/remote/http.ts): status, Content-Range,
// Content-Length, Content-Encoding, chunked or short bodies, answered by a real socket on loopback to a
// real HttpClient; and the pack list served as pack/packs (lib/silo/pack-list.ts). The first byte picks
// which. A GET gives a body within the bounds asked for, undefined for 404/410, or ERR_REMOTE; a pack list
// that parses formats back to one that parses the same.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { formatPackList, parsePackList } from '../../../lib/silo/pack-list.js';
import { HttpClient, type GetOptions } from '../../../lib/remote/http.js';
import { asyncTarget, Bytes, check, checkSame, isRefusal, outcome, outcomeAsync } from '../harness.js';

const MAX_BODY = 1 << 20;
let reply: Buffer = Buffer.alloc(0);
const server = createServer((conn: Socket) => {
  conn.on('error', () => {});
  let head = '';
  conn.on('data', (chunk: Buffer) => {
    head += chunk.toString('latin1');
    if (head.includes('\r\n\r\n')) conn.end(reply);
  });
});
const listening = new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
server.unref();
const client = new HttpClient({ timeoutMs: 3000, retries: 0, maxBodyBytes: MAX_BODY });

async function get(b: Bytes): Promise<void> {
  const port = await listening;
  const kind = b.u8() % 3;
  const start = b.u16();
  const options: GetOptions = kind === 0 ? {} : { range: kind === 1 ? { start } : { start, end: start + b.u16() } };
  reply = b.rest();
  const body = await outcomeAsync(() => client.get(`http://127.0.0.1:${port}/silo/pack/pack-x.pack`, options), ['ERR_REMOTE']);
  if (isRefusal(body)) return;
  const status = /^[\r\n]*HTTP\/\d\.\d (\d{3})/.exec(reply.toString('latin1'))?.[1]; // Node skips CRLFs before a response
  if (body === undefined) {
    check(status === '404' || status === '410', `undefined for a response with status ${status}`);
    return;
  }
  check(status === '200' || (status === '206' && options.range !== undefined), `a body from status ${status}`);
  const range = options.range;
  check(body.length <= (range?.end === undefined ? MAX_BODY : range.end - range.start + 1), `a body of ${body.length} bytes for ${JSON.stringify(options)}`);
  packList(body.toString('utf8'));
}

function packList(text: string): void {
  const entries = outcome(() => parsePackList(text, 'pack/packs'), ['ERR_SILO_CORRUPT']);
  if (isRefusal(entries)) return;
  for (const e of entries) check(Number.isSafeInteger(e.packBytes) && Number.isSafeInteger(e.idxBytes) && /^pack-[0-9a-f]{40}$/.test(e.name), `entry ${JSON.stringify(e)}`);
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  checkSame(parsePackList(formatPackList(entries), 'again'), sorted, 'pack list after formatPackList');
}

export const fuzz = asyncTarget(async (data) => {
  const b = new Bytes(data);
  if (b.u8() & 1) await get(b);
  else packList(b.rest().toString('utf8'));
});
