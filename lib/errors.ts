// The one errors module. Every error medo throws on purpose is a MedoError with a stable `code`.
// Errors that cross a worker boundary lose their class, so callers branch on `err.code`, never on
// `instanceof`.

export type ErrorCode =
  | 'ERR_BAD_OID' // not 40 hex digits / 20 bytes
  | 'ERR_OBJECT_MISSING' // an object that must exist does not
  | 'ERR_OBJECT_CORRUPT' // content does not hash to its id, or cannot be decoded
  | 'ERR_PACK_CORRUPT' // a .pack or .idx file breaks its format
  | 'ERR_DELTA_CORRUPT' // a delta instruction stream is malformed
  | 'ERR_INTERNAL' // medo broke its own invariant (a bug); what it was writing is not published
  | 'ERR_TREE_CORRUPT' // a tree object breaks git's tree format
  | 'ERR_TREE_NAME' // a tree entry name git rejects ('', '.', '..', '/' or NUL inside)
  | 'ERR_STORE_NOT_FOUND' // a path that is neither a silo nor a git repository
  | 'ERR_SILO_CORRUPT' // a silo's marker or layout is wrong
  | 'ERR_SILO_LOCKED' // a silo lock (locks/*.lock) is held by another process; data.owner says who
  | 'ERR_SILO_BUSY' // other writers kept changing the silo while this one tried to record its change
  | 'ERR_TOO_LARGE' // a declared size beyond what we accept
  | 'ERR_TAR_CORRUPT' // a tar stream that breaks the format or ends early
  | 'ERR_UNSAFE_PATH' // a path that would escape its destination: '..', absolute, through a symlink
  | 'ERR_SPECIAL_FILE' // a device, socket or fifo where only files, directories and symlinks are allowed
  | 'ERR_NAME_ENCODING' // a file name that is not valid UTF-8
  | 'ERR_CHECKSUM_MISMATCH' // a file whose sha256 is not the one it was expected to have
  | 'ERR_NOT_MOUNTED' // an unmount or status request for a path that is not a medo mount
  | 'ERR_MOUNT_FAILED' // the kernel or libfuse refused a mount
  | 'ERR_DAEMON_UNAVAILABLE' // no medod answers on the control socket
  | 'ERR_PROTOCOL' // a control-socket message that breaks docs/protocol.md (bad JSON, unknown op, wrong version)
  | 'ERR_REMOTE' // a remote silo's server failed, timed out, or sent bytes that are not what was asked for
  | 'ERR_NO_SUCH_PATH' // a path asked for inside a tree that the tree does not have
  | 'ERR_USAGE'; // a caller passed bad arguments or options

export interface ErrorData {
  oid?: string;
  path?: string;
  offset?: number;
  [key: string]: unknown;
}

export class MedoError extends Error {
  readonly code: ErrorCode;
  readonly data: ErrorData;

  constructor(code: ErrorCode, message: string, data: ErrorData = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MedoError';
    this.code = code;
    this.data = data;
  }
}

/** An error as a worker thread sends it back: classes do not cross a thread boundary, so it goes as data. */
export interface ErrorAsData {
  code: ErrorCode | string;
  message: string;
  data: ErrorData;
}

/** The error a worker sent (ErrorAsData): a MedoError gets its class back; a system error (ENOSPC, EIO) its code. */
export function errorFromData({ code, message, data }: ErrorAsData): Error {
  return code.startsWith('ERR_') ? new MedoError(code as ErrorCode, message, data) : Object.assign(new Error(message), { code, path: data.path });
}

export function isMedoError(e: unknown): e is MedoError {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_') && 'data' in e;
}

/**
 * `e` with the object being read named in its message (and as data.object): a hostile entry deep in a
 * delta chain is reported by pack offset, while whoever asked knows the object by its id. Anything else
 * (not a MedoError, or one that names the object already) is returned as it is.
 */
export function readingObject(e: unknown, oid: string): unknown {
  if (!(e instanceof MedoError) || e.message.includes(oid)) return e;
  return new MedoError(e.code, `${e.message} (reading object ${oid})`, { ...e.data, object: oid, oid: e.data.oid ?? oid }, e.cause === undefined ? undefined : { cause: e.cause });
}

export const packCorrupt = (message: string, data: ErrorData, cause?: unknown): MedoError =>
  new MedoError('ERR_PACK_CORRUPT', message, data, { cause });
