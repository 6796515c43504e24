// A tarball into a silo, straight from the (decompressed) stream: nothing is extracted to disk. The
// result is the same tree and sidecar as adding the directory `tar -x --same-permissions` would make:
// modes and mtimes from the headers, hard links as the same blob with their target's metadata (they
// share its inode once extracted), directories the archive only implies as 0755.
import { createHash } from 'node:crypto';
import { MedoError, isMedoError } from '../../errors.js';
import { openTarStream, readTar } from '../../tar/tar-reader.js';
import { IngestSession, type IngestOptions, type IngestResult } from './session.js';

export interface TarIngestOptions extends IngestOptions {
  /** Refuse the tarball (ERR_CHECKSUM_MISMATCH, nothing written) unless its sha256 is this. */
  expectSha256?: string;
}

export async function ingestTarball(path: string, options: TarIngestOptions): Promise<IngestResult> {
  const session = new IngestSession(options);
  const sha256 = createHash('sha256');
  try {
    const stream = openTarStream(path, { onRawChunk: (c) => sha256.update(c) });
    for await (const e of readTar(stream, { maxEntrySize: options.maxFileSize })) {
      const stat = { perm: e.mode, mtimeSec: e.mtimeSec, mtimeNsec: e.mtimeNsec };
      switch (e.type) {
        case 'dir':
          session.addDir(e.path, stat);
          break;
        case 'file':
          await session.addFile(e.path, { content: e.content! }, e.size, stat);
          break;
        case 'symlink':
          session.addSymlink(e.path, Buffer.from(e.linkTarget!, 'utf8'), stat);
          break;
        case 'hardlink': {
          const target = session.builder.findFile(e.linkTarget!);
          if (target === undefined) {
            throw new MedoError('ERR_TAR_CORRUPT', `hard link ${JSON.stringify(e.path)} names ${JSON.stringify(e.linkTarget)}, which is not an earlier file in the archive`,
              { path: e.path, offset: e.offset });
          }
          session.addLink(e.path, target.blob, target.kind, target.stat);
          break;
        }
        case 'special':
          if (!options.skipSpecial) {
            throw new MedoError('ERR_SPECIAL_FILE', `${JSON.stringify(e.path)} is a device or fifo; only files, directories and symlinks can be stored (--skip-special skips them)`,
              { path: e.path, offset: e.offset });
          }
          options.onWarning?.(`skipping ${JSON.stringify(e.path)} in ${path}: a device or fifo`);
          break;
      }
    }
    const digest = sha256.digest('hex');
    const result = await session.finish(() => {
      if (options.expectSha256 !== undefined && options.expectSha256 !== digest) {
        throw new MedoError('ERR_CHECKSUM_MISMATCH', `${path}: sha256 is ${digest}, not the expected ${options.expectSha256}`,
          { path, sha256: digest });
      }
    });
    result.sha256 = digest;
    return result;
  } catch (e) {
    await session.abort();
    // Name the tarball in errors from the tar layer, which only knows entries and offsets.
    if (isMedoError(e) && !e.message.startsWith(path)) {
      throw new MedoError(e.code, `${path}: ${e.message}`, e.data, { cause: e });
    }
    throw e;
  }
}
