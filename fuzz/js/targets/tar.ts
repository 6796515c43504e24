// Tar streams (lib/tar/): ustar, pax extended records, GNU long names and links, v7, gzip-compressed.
// The first byte picks the input's kind. Entries come out with clean relative paths and exactly their
// declared bytes, or the stream is refused with a MedoError; how the bytes are split into chunks may not
// change the outcome, nor may reading a .tar.gz as a stream instead of inflated at once.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parsePaxRecords, parsePaxSize, parsePaxTime } from '../../../lib/tar/pax.js';
import { BLOCK, parseHeader } from '../../../lib/tar/tar-header.js';
import { openTarStream, readTar, type TarEntry } from '../../../lib/tar/tar-reader.js';
import { asyncTarget, Bytes, check, checkSame, isRefusal, outcome, outcomeAsync } from '../harness.js';

const MAX_ENTRY = 1 << 20;
const CODES = ['ERR_TAR_CORRUPT', 'ERR_UNSAFE_PATH', 'ERR_NAME_ENCODING', 'ERR_TOO_LARGE'] as const;
const scratch = join(process.env.MEDO_FUZZ_TMP ?? tmpdir(), `medo-fuzz-tar-${process.pid}.tar.gz`);

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

function checkEntry(e: TarEntry): void {
  const parts = e.path.split('/');
  check(!e.path.startsWith('/') && (e.path === '' || parts.every((p) => p !== '' && p !== '.' && p !== '..')), `unclean path ${JSON.stringify(e.path)}`);
  check(e.path !== '' || e.type === 'dir', `a ${e.type} with an empty path`);
  check(e.mode >= 0 && e.mode <= 0o7777 && Number.isSafeInteger(e.mtimeSec) && e.mtimeNsec >= 0 && e.mtimeNsec < 1e9, 'mode or mtime out of range');
  if (e.type === 'file') check(e.content !== undefined && e.content.length === e.size && e.size <= MAX_ENTRY, 'file content is not its size');
  else check(e.size === 0 && e.content === undefined, `a ${e.type} with content`);
  if (e.type === 'hardlink') check(e.linkTarget !== undefined && !e.linkTarget.startsWith('/') && !e.linkTarget.split('/').includes('..'), 'unsafe hard link');
}

/** The entries read (in a comparable form) and how the stream ended: 'end' or the error code. */
async function readAll(input: AsyncIterable<Buffer>): Promise<{ entries: unknown[]; end: string }> {
  const entries: unknown[] = [];
  const r = await outcomeAsync(async () => {
    for await (const e of readTar(input, { maxEntrySize: MAX_ENTRY })) {
      checkEntry(e);
      entries.push({ ...e, content: e.content?.toString('hex') });
    }
    return 'end';
  }, CODES);
  return { entries, end: isRefusal(r) ? r.code : r };
}

async function plain(b: Bytes): Promise<void> {
  const chunk = 1 + (b.u16() % 4096);
  const data = b.rest();
  const split = await readAll(chunks(data, chunk));
  const whole = await readAll(chunks(data, data.length || 1));
  checkSame(split, whole, `reading in chunks of ${chunk} bytes changes the outcome`);
}

async function gzipped(data: Buffer): Promise<void> {
  writeFileSync(scratch, data);
  const streamed = await readAll(openTarStream(scratch));
  let inflated: Buffer | undefined;
  try {
    inflated = gunzipSync(data, { maxOutputLength: 16 << 20 });
  } catch {
    return; // corrupt or larger than we inflate at once: the stream's outcome stands alone
  }
  checkSame(streamed, await readAll(chunks(inflated, 64 << 10)), '.tar.gz read as a stream and inflated at once differ');
}

function paxRecords(data: Buffer): void {
  const records = outcome(() => parsePaxRecords(data, 0), ['ERR_TAR_CORRUPT', 'ERR_NAME_ENCODING']);
  if (isRefusal(records)) return;
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const body = Buffer.from(` ${key}=${value}\n`, 'utf8');
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.from(String(len), 'latin1'), body);
    if (key === 'size') {
      const n = outcome(() => parsePaxSize(value, 0), ['ERR_TAR_CORRUPT']);
      check(isRefusal(n) || (Number.isSafeInteger(n) && n >= 0), `pax size ${value}`);
    }
    if (key === 'mtime') {
      const t = outcome(() => parsePaxTime(value, 0), ['ERR_TAR_CORRUPT']);
      check(isRefusal(t) || (Number.isSafeInteger(t.sec) && Number.isInteger(t.nsec) && t.nsec >= 0 && t.nsec < 1e9), `pax time ${value}`);
    }
  }
  checkSame(parsePaxRecords(Buffer.concat(parts), 0), records, 'pax records after re-encoding');
}

function header(data: Buffer): void {
  const block = Buffer.alloc(BLOCK);
  data.copy(block);
  const h = outcome(() => parseHeader(block, 0), ['ERR_TAR_CORRUPT']);
  if (isRefusal(h)) return;
  check(Number.isSafeInteger(h.size) && h.size >= 0 && Number.isSafeInteger(h.mode) && h.mode >= 0 && Number.isSafeInteger(h.mtime), 'numeric fields');
  check(h.name.length <= 256 && h.linkname.length <= 100 && !h.name.includes(0) && !h.linkname.includes(0), 'name fields');
}

export const fuzz = asyncTarget(async (data) => {
  const b = new Bytes(data);
  const mode = b.u8() % 4;
  if (mode === 0) await plain(b);
  else if (mode === 1) await gzipped(b.rest());
  else if (mode === 2) paxRecords(b.rest());
  else header(b.rest());
});
