// One 512-byte tar header block, parsed from a Buffer (pure, no I/O). Covers POSIX ustar, GNU and
// old-GNU/v7 headers; pax extended records live in pax.ts.
//
// Layout (POSIX.1-1988 ustar, https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06,
// and GNU tar's "Basic Tar Format", https://www.gnu.org/software/tar/manual/html_node/Standard.html):
//   0   100  name            NUL-terminated unless it fills the field
//   100   8  mode            octal
//   108   8  uid, 116 8 gid  octal (ignored)
//   124  12  size            octal, or GNU base-256 when the first byte has its high bit set
//   136  12  mtime           same encodings as size; base-256 may be negative
//   148   8  chksum          octal sum of all 512 bytes with this field read as spaces
//   156   1  typeflag
//   157 100  linkname
//   257   6  magic           "ustar\0" (POSIX) or "ustar " (GNU, followed by version " \0"); v7 has none
//   263   2  version
//   265 ... uname, gname, devmajor, devminor
//   345 155  prefix          POSIX only: prepended to name with a '/'. GNU headers keep atime/ctime here.
import { MedoError } from '../errors.js';

export const BLOCK = 512;

// Type flags (POSIX and GNU names).
export const REGTYPE = 0x30; // '0'
export const AREGTYPE = 0x00; // '\0', pre-POSIX regular file
export const LNKTYPE = 0x31; // '1' hard link
export const SYMTYPE = 0x32; // '2'
export const CHRTYPE = 0x33; // '3'
export const BLKTYPE = 0x34; // '4'
export const DIRTYPE = 0x35; // '5'
export const FIFOTYPE = 0x36; // '6'
export const CONTTYPE = 0x37; // '7' contiguous file: a regular file everywhere that matters
export const XHDTYPE = 0x78; // 'x' pax extended header for the next entry
export const XGLTYPE = 0x67; // 'g' pax global header
export const GNUTYPE_LONGNAME = 0x4c; // 'L'
export const GNUTYPE_LONGLINK = 0x4b; // 'K'
export const GNUTYPE_DUMPDIR = 0x44; // 'D' a directory followed by a listing of its names
export const GNUTYPE_VOLHDR = 0x56; // 'V' volume label, not a file

export interface RawHeader {
  /** name, or prefix + '/' + name for POSIX ustar; raw bytes, not yet decoded or cleaned. */
  name: Buffer;
  linkname: Buffer;
  mode: number;
  size: number;
  mtime: number;
  typeflag: number;
  /** 'ustar' (POSIX), 'gnu' (GNU / old GNU), 'v7' (no magic). */
  format: 'ustar' | 'gnu' | 'v7';
}

const corrupt = (offset: number, why: string): MedoError =>
  new MedoError('ERR_TAR_CORRUPT', `tar header at offset ${offset}: ${why}`, { offset });

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** The bytes of a NUL-terminated field (the whole field when it has no NUL). */
function field(block: Buffer, start: number, length: number): Buffer {
  const f = block.subarray(start, start + length);
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
}

/**
 * A numeric field: octal digits with optional leading spaces and a space/NUL terminator, or GNU's
 * base-256 (high bit of the first byte set; 0xff starts a negative two's-complement number).
 * Values beyond Number.MAX_SAFE_INTEGER are corruption.
 */
export function parseNumeric(block: Buffer, start: number, length: number, what: string, offset: number, signed = false): number {
  const first = block[start]!;
  if (first & 0x80) {
    const negative = first === 0xff;
    if (negative && !signed) throw corrupt(offset, `${what} is negative`);
    let v = BigInt(negative ? first : first & 0x7f);
    for (let i = 1; i < length; i++) v = (v << 8n) | BigInt(block[start + i]!);
    if (negative) v -= 1n << BigInt(8 * length);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(offset, `${what} is out of range`);
    return Number(v);
  }
  let i = start;
  const end = start + length;
  while (i < end && block[i] === 0x20) i++;
  // An empty field reads as 0: some writers leave size empty for links and directories.
  let v = 0;
  for (; i < end; i++) {
    const c = block[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw corrupt(offset, `${what} is not an octal number`);
    v = v * 8 + (c - 0x30);
  }
  for (; i < end; i++) {
    if (block[i] !== 0 && block[i] !== 0x20) throw corrupt(offset, `${what} has bytes after its terminator`);
  }
  if (!Number.isSafeInteger(v)) throw corrupt(offset, `${what} is out of range`);
  return v;
}

/** The header checksum: unsigned byte sum with the chksum field as spaces (signed too, for old writers). */
function checksums(block: Buffer): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b >= 0x80 ? b - 256 : b;
  }
  return [unsigned, signed];
}

/** Parses and checksums one header block; `offset` is its position in the stream, for messages. */
export function parseHeader(block: Buffer, offset: number): RawHeader {
  if (block.length !== BLOCK) throw corrupt(offset, `header is ${block.length} bytes, not ${BLOCK}`);
  const stored = parseNumeric(block, 148, 8, 'checksum', offset);
  const [unsigned, signed] = checksums(block);
  if (stored !== unsigned && stored !== signed) {
    throw corrupt(offset, `checksum mismatch (stored ${stored}, computed ${unsigned}): not a tar archive, or a corrupt one`);
  }
  const magic = block.toString('latin1', 257, 263);
  const format = magic === 'ustar\0' ? 'ustar' : magic === 'ustar ' ? 'gnu' : 'v7';
  let name = Buffer.from(field(block, 0, 100));
  if (format === 'ustar') {
    const prefix = field(block, 345, 155);
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.of(0x2f), name]);
  }
  return {
    name,
    linkname: Buffer.from(field(block, 157, 100)),
    mode: parseNumeric(block, 100, 8, 'mode', offset),
    size: parseNumeric(block, 124, 12, 'size', offset),
    mtime: parseNumeric(block, 136, 12, 'mtime', offset, true),
    typeflag: block[156]!,
    format,
  };
}

/** Bytes of padding after `size` bytes of entry data, up to the next block boundary. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}
