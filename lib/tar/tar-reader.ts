// A streaming tar reader: headers and data are consumed as chunks arrive, and each entry is yielded with
// its whole content (regular files) or its link target. Memory stays bounded by one entry: a file's
// buffer is allocated only once all of its bytes have arrived, and an entry over `maxEntrySize` is
// skipped through (to tell a short stream from a real oversized file) and then refused.
//
// Formats: POSIX ustar, pax ('x' records path, linkpath, size, mtime with fractions; 'g' global headers
// are ignored), GNU long names and links ('L', 'K'), old-GNU and v7 headers. Names are cleaned to
// relative '/'-separated paths; '..' parts and absolute names are refused, never rewritten.
import { constants } from 'node:buffer';
import { MedoError } from '../errors.js';
import { quoteBytes } from '../git/quote.js';
import { parsePaxRecords, parsePaxSize, parsePaxTime } from './pax.js';
import {
  AREGTYPE, BLKTYPE, BLOCK, CHRTYPE, CONTTYPE, DIRTYPE, FIFOTYPE, GNUTYPE_DUMPDIR, GNUTYPE_LONGLINK, GNUTYPE_LONGNAME,
  GNUTYPE_VOLHDR, LNKTYPE, REGTYPE, SYMTYPE, XGLTYPE, XHDTYPE, isZeroBlock, padding, parseHeader,
} from './tar-header.js';
import { ByteQueue } from './byte-queue.js';

export { openTarStream, type OpenTarOptions } from './decompress.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'special';

export interface TarEntry {
  /** Cleaned relative '/'-separated path: no trailing '/', no '.' or empty parts. '' only for the root directory ("./"). */
  path: string;
  type: TarEntryType;
  /** Permission bits: mode & 0o7777. */
  mode: number;
  mtimeSec: number;
  mtimeNsec: number;
  /** Content bytes of a 'file'; 0 for every other type. */
  size: number;
  /** A symlink's target (as stored, not cleaned), or the cleaned path a hardlink names. */
  linkTarget?: string;
  /** 'file': the whole content, in a buffer of its own (safe to transfer to a worker). */
  content?: Buffer;
  /** Offset of the entry's header in the (decompressed) stream. */
  offset: number;
}

export interface ReadTarOptions {
  /** Largest file content held in memory; larger files raise ERR_TOO_LARGE. */
  maxEntrySize?: number;
}

export const DEFAULT_MAX_ENTRY_SIZE = Math.min(constants.MAX_LENGTH, 4 * 1024 ** 3);
/** pax and GNU long-name headers are metadata; anything larger than this is hostile. */
const MAX_META_SIZE = 1 << 20;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const corrupt = (offset: number, why: string, path?: string): MedoError =>
  new MedoError('ERR_TAR_CORRUPT', path === undefined ? `tar entry at offset ${offset}: ${why}` : `tar entry ${JSON.stringify(path)}: ${why}`,
    path === undefined ? { offset } : { offset, path });

function decodeName(bytes: Buffer, offset: number, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new MedoError('ERR_NAME_ENCODING', `tar entry at offset ${offset}: ${what} ${quoteBytes(bytes)} is not valid UTF-8`,
      { offset, name: quoteBytes(bytes) });
  }
}

/** Cleans an archive path: drops '.' and empty parts; '..' or a leading '/' is ERR_UNSAFE_PATH. */
export function cleanTarPath(raw: string, offset: number): string {
  if (raw.includes('\0')) throw corrupt(offset, 'name contains NUL', raw);
  if (raw.startsWith('/')) {
    throw new MedoError('ERR_UNSAFE_PATH', `tar entry ${JSON.stringify(raw)} has an absolute name`, { path: raw, offset });
  }
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new MedoError('ERR_UNSAFE_PATH', `tar entry ${JSON.stringify(raw)} has a '..' component: it would escape the destination`,
      { path: raw, offset });
  }
  return parts.join('/');
}

function stripNul(data: Buffer): Buffer {
  const nul = data.indexOf(0);
  return nul < 0 ? data : data.subarray(0, nul);
}

function entryType(typeflag: number, rawName: string, offset: number): TarEntryType | 'skip' {
  switch (typeflag) {
    case REGTYPE:
    case AREGTYPE:
      // Pre-POSIX archives mark directories only by a trailing '/'.
      return rawName.endsWith('/') ? 'dir' : 'file';
    case CONTTYPE:
      return 'file';
    case LNKTYPE:
      return 'hardlink';
    case SYMTYPE:
      return 'symlink';
    case DIRTYPE:
    case GNUTYPE_DUMPDIR:
      return 'dir';
    case CHRTYPE:
    case BLKTYPE:
    case FIFOTYPE:
      return 'special';
    case GNUTYPE_VOLHDR:
      return 'skip';
    default:
      throw corrupt(offset, `unsupported entry type ${JSON.stringify(String.fromCharCode(typeflag))} (GNU sparse or multi-volume archives are not supported)`,
        rawName);
  }
}

export async function* readTar(input: AsyncIterable<Buffer>, options: ReadTarOptions = {}): AsyncGenerator<TarEntry> {
  const maxEntrySize = options.maxEntrySize ?? DEFAULT_MAX_ENTRY_SIZE;
  if (!Number.isSafeInteger(maxEntrySize) || maxEntrySize < 0 || maxEntrySize > constants.MAX_LENGTH) {
    throw new MedoError('ERR_USAGE', `readTar: maxEntrySize must be a whole number from 0 to ${constants.MAX_LENGTH}`);
  }
  const q = new ByteQueue(input[Symbol.asyncIterator]());
  let finished = false;
  try {
    let pax: Map<string, string> | undefined;
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    for (;;) {
      const at = q.position;
      const block = await q.readExact(BLOCK);
      if (block === undefined) {
        throw corrupt(at, q.buffered > 0 ? 'the archive ends inside a header (truncated)'
          : at === 0 ? 'the archive is empty' : 'the archive ends without its end-of-archive blocks (truncated)');
      }
      if (isZeroBlock(block)) {
        if (pax !== undefined || longName !== undefined || longLink !== undefined) throw corrupt(at, 'an extended header is not followed by an entry');
        // One zero block ends the archive for GNU tar too; whatever follows (the second block, record padding) is read and ignored.
        break;
      }
      const h = parseHeader(block, at);
      const t = h.typeflag;
      if (t === XHDTYPE || t === XGLTYPE || t === GNUTYPE_LONGNAME || t === GNUTYPE_LONGLINK) {
        if (h.size > MAX_META_SIZE) throw corrupt(at, `extended header of ${h.size} bytes is larger than ${MAX_META_SIZE}`);
        const data = await q.readExact(h.size + padding(h.size));
        if (data === undefined) throw corrupt(at, 'the archive ends inside an extended header (truncated)');
        const body = data.subarray(0, h.size);
        if (t === XHDTYPE) pax = new Map([...(pax ?? []), ...parsePaxRecords(body, at)]);
        else if (t === GNUTYPE_LONGNAME) longName = Buffer.from(stripNul(body));
        else if (t === GNUTYPE_LONGLINK) longLink = Buffer.from(stripNul(body));
        continue;
      }

      const rawName = pax?.get('path') ?? decodeName(longName ?? h.name, at, 'name');
      if ([...(pax?.keys() ?? [])].some((k) => k.startsWith('GNU.sparse.'))) throw corrupt(at, 'GNU sparse files are not supported', rawName);
      const type = entryType(t, rawName, at);
      const size = pax?.has('size') ? parsePaxSize(pax.get('size')!, at) : h.size;
      let mtimeSec = h.mtime;
      let mtimeNsec = 0;
      if (pax?.has('mtime')) ({ sec: mtimeSec, nsec: mtimeNsec } = parsePaxTime(pax.get('mtime')!, at));
      const rawLink = pax?.get('linkpath') ?? decodeName(longLink ?? h.linkname, at, 'link target');
      pax = longName = longLink = undefined;
      if (type === 'skip') {
        if (!(await q.skip(size + padding(size)))) throw corrupt(at, 'the archive ends inside a volume header (truncated)');
        continue;
      }

      const entry: TarEntry = { path: cleanTarPath(rawName, at), type, mode: h.mode & 0o7777, mtimeSec, mtimeNsec, size: 0, offset: at };
      if (entry.path === '' && type !== 'dir') throw corrupt(at, `a ${type} entry has an empty name`, rawName);
      if (type === 'hardlink') {
        entry.linkTarget = cleanTarPath(rawLink, at);
        if (entry.linkTarget === '') throw corrupt(at, 'hard link with an empty target', rawName);
      } else if (type === 'symlink') {
        if (rawLink === '') throw corrupt(at, 'symlink with an empty target', rawName);
        entry.linkTarget = rawLink;
      }

      if (type === 'file') {
        if (size > maxEntrySize) {
          if (!(await q.skip(size))) throw corrupt(at, `claims ${size} bytes but the archive ends after ${q.position - at - BLOCK} of them (truncated)`, entry.path);
          throw new MedoError('ERR_TOO_LARGE', `tar entry ${JSON.stringify(entry.path)} is ${size} bytes, over the limit of ${maxEntrySize}`,
            { path: entry.path, offset: at });
        }
        const content = await q.readOwned(size);
        if (content === undefined) throw corrupt(at, `claims ${size} bytes but the archive ends after ${q.buffered} of them (truncated)`, entry.path);
        entry.content = content;
        entry.size = size;
      } else if (!(await q.skip(size))) {
        throw corrupt(at, `claims ${size} bytes of data but the archive ends first (truncated)`, entry.path);
      }
      if (!(await q.skip(padding(size)))) throw corrupt(at, 'the archive ends inside the padding after the entry (truncated)', entry.path);
      yield entry;
    }
    // Read to the end, so that a decompressor's integrity check and a caller's checksum see every byte.
    await q.drain();
    finished = true;
  } finally {
    if (!finished) await q.close();
  }
}
