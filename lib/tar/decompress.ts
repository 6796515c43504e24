// Opening a possibly compressed tarball as a stream of tar bytes. The compression is recognized by its
// magic bytes, whatever the file is called: gzip through node:zlib, xz and zstd through `xz -dc` and
// `zstd -dc` child processes (Debian xz-utils and zstd, installed by scripts/setup.sh). Failures of the
// decompressor, including a truncated or corrupt stream, are ERR_TAR_CORRUPT naming the file.
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { MedoError } from '../errors.js';

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd';

export interface OpenTarOptions {
  /** Sees every raw (still compressed) byte of the file, in order: e.g. to compute its sha256 on the way. */
  onRawChunk?: (chunk: Buffer) => void;
}

const CHUNK = 1 << 20;

/** Known magic numbers at the start of a file; 'none' is assumed to be a plain tar. */
export function detectCompression(head: Buffer, path = 'input'): Compression {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  const unsupported = starts(0x42, 0x5a, 0x68) ? 'bzip2' : starts(0x4c, 0x5a, 0x49, 0x50) ? 'lzip' : starts(0x04, 0x22, 0x4d, 0x18) ? 'lz4'
    : undefined;
  if (unsupported !== undefined) {
    throw new MedoError('ERR_TAR_CORRUPT', `${path}: ${unsupported}-compressed tarballs are not supported (use .tar, .tar.gz, .tar.xz or .tar.zst)`,
      { path });
  }
  return 'none';
}

const failed = (path: string, what: string, cause: unknown): MedoError =>
  new MedoError('ERR_TAR_CORRUPT', `${path}: ${what}: ${(cause as Error).message ?? String(cause)}`, { path }, { cause });

/** The tar bytes of `path`, decompressed as its magic bytes say. */
export async function* openTarStream(path: string, options: OpenTarOptions = {}): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  let raw: Readable;
  let compression: Compression;
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    compression = detectCompression(head.subarray(0, bytesRead), path);
    raw = fh.createReadStream({ start: 0, highWaterMark: CHUNK });
  } catch (e) {
    await fh.close();
    throw e;
  }
  const tap = options.onRawChunk;
  if (compression === 'none') {
    try {
      for await (const chunk of raw) {
        tap?.(chunk as Buffer);
        yield chunk as Buffer;
      }
    } finally {
      raw.destroy();
    }
    return;
  }
  if (compression === 'gzip') yield* gunzip(path, raw, tap);
  else yield* viaChild(path, raw, compression === 'xz' ? 'xz' : 'zstd', tap);
}

type Tap = ((chunk: Buffer) => void) | undefined;

async function* gunzip(path: string, raw: Readable, tap: Tap): AsyncGenerator<Buffer> {
  const z = createGunzip({ chunkSize: 256 * 1024 });
  raw.on('error', (e) => z.destroy(e));
  raw.pipe(z);
  if (tap !== undefined) raw.on('data', tap);
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } catch (e) {
    throw failed(path, 'gzip data is corrupt or truncated', e);
  } finally {
    raw.destroy();
    z.destroy();
  }
}

async function* viaChild(path: string, raw: Readable, tool: 'xz' | 'zstd', tap: Tap): AsyncGenerator<Buffer> {
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  // The child may exit before reading everything (corrupt data): its exit status says why, not EPIPE.
  child.stdin.on('error', () => {});
  raw.on('error', (e) => child.stdin.destroy(e));
  raw.pipe(child.stdin);
  if (tap !== undefined) raw.on('data', tap);
  let complete = false;
  try {
    try {
      for await (const chunk of child.stdout) yield chunk as Buffer;
    } catch (e) {
      throw failed(path, `reading ${tool}'s output failed`, e);
    }
    const r = await exited;
    if (r.error !== undefined) {
      const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new MedoError('ERR_TAR_CORRUPT',
        missing ? `${path}: cannot decompress: the '${tool}' program is not installed (Debian package ${tool === 'xz' ? 'xz-utils' : 'zstd'})`
          : `${path}: cannot run '${tool} -dc': ${r.error.message}`, { path }, { cause: r.error });
    }
    if (r.code !== 0) {
      const why = stderr.trim().split('\n').slice(-3).join('; ') || (r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`);
      throw new MedoError('ERR_TAR_CORRUPT', `${path}: ${tool} data is corrupt or truncated (${tool} -dc: ${why})`, { path });
    }
    complete = true;
  } finally {
    raw.destroy();
    if (!complete && child.exitCode === null && child.signalCode === null) child.kill();
    // Reap the child before returning, so no process outlives the caller's loop.
    await exited;
  }
}
