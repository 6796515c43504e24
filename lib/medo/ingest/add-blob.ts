// One file kept byte for byte as a single blob, written as a LOOSE silo object
// (objects/xx/<38 hex>.gz, the gzip of the file), so that `curl URL | gunzip` gives the file itself.
// The file is streamed: read once, hashed (git id and sha256) and gzipped on the way into a temp file
// that is renamed into place only when complete, so memory does not grow with the file.
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { MedoError } from '../../errors.js';
import { fsyncDir, tempPathFor } from '../../io/atomic-write.js';
import { objectHeader } from '../../oid.js';
import { freshen } from '../../silo/freshen.js';
import type { Silo } from '../../silo/silo.js';
import type { IngestResult } from './session.js';

export interface BlobIngestOptions {
  silo: Silo;
  /** Refuse the file (ERR_CHECKSUM_MISMATCH, nothing written) unless its sha256 is this. */
  expectSha256?: string;
  /** gzip level (default 6). */
  level?: number;
  onProgress?: (bytes: number) => void;
}

export async function ingestBlob(path: string, options: BlobIngestOptions): Promise<IngestResult> {
  const { silo } = options;
  const fh = await open(path, 'r');
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new MedoError('ERR_USAGE', `${path} is not a regular file`, { path });
  }
  const size = st.size;
  const sha1 = createHash('sha1').update(objectHeader('blob', size));
  const sha256 = createHash('sha256');
  const objects = join(silo.path, 'objects');
  const tmp = tempPathFor(join(objects, 'blob.gz'));
  let read = 0;
  try {
    await pipeline(
      fh.createReadStream({ highWaterMark: 1 << 20 }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          read += chunk.length;
          sha1.update(chunk);
          sha256.update(chunk);
          yield chunk;
        }
      },
      createGzip({ level: options.level ?? 6 }),
      createWriteStream(tmp, { flags: 'wx', mode: 0o644 }),
    );
    if (read !== size) {
      throw new MedoError('ERR_OBJECT_CORRUPT', `${path} changed size while it was read (${size} bytes, then ${read}); try again`, { path });
    }
    const digest = sha256.digest('hex');
    if (options.expectSha256 !== undefined && options.expectSha256 !== digest) {
      throw new MedoError('ERR_CHECKSUM_MISMATCH', `${path}: sha256 is ${digest}, not the expected ${options.expectSha256}`, { path, sha256: digest });
    }
    const oid = sha1.digest('hex');
    let objectsWritten = 0;
    // --blob promises a loose objects/xx/<id>.gz that `curl URL | gunzip` returns: a packed copy of the
    // same content (say, a file of a tree added earlier) does not keep that promise, so only a loose one
    // makes this write unnecessary.
    // Freshened, so that a concurrent prune spares it (lib/silo/freshen.ts).
    if (freshen(silo.loose.path(silo.path, oid))) {
      unlinkSync(tmp);
    } else {
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const dir = join(objects, oid.slice(0, 2));
      mkdirSync(dir, { recursive: true });
      renameSync(tmp, silo.loose.path(silo.path, oid));
      fsyncDir(dir);
      objectsWritten = 1;
    }
    options.onProgress?.(size);
    return { blob: oid, size, files: 1, objectsWritten, sha256: digest };
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw e;
  } finally {
    await fh.close().catch(() => {});
  }
}
