// The one place errors become errno values for the kernel (negative, as the binding expects). Conditions the
// adapter decides itself (a write on a read-only mount, a missing xattr) are FsErrors; everything the
// library throws is a MedoError whose code says what went wrong. A damaged or missing object is EIO for the
// file that needs it, and so is anything unexpected: a bug must not take the mount down.
import { constants } from 'node:os';

const E = constants.errno;

export type FsErrorName = 'ENOENT' | 'EIO' | 'EROFS' | 'ENOTDIR' | 'EISDIR' | 'ENODATA' | 'ERANGE' | 'EINVAL';

/** An error the adapter answers on purpose; `errno` names the value the caller sees. */
export class FsError extends Error {
  constructor(readonly errno: FsErrorName, message: string = errno) {
    super(message);
    this.name = 'FsError';
  }
}

export const errnoOf = (name: FsErrorName): number => -E[name];

export const ENOENT = errnoOf('ENOENT');
export const EIO = errnoOf('EIO');
export const EROFS = errnoOf('EROFS');
export const ENODATA = errnoOf('ENODATA');
export const ERANGE = errnoOf('ERANGE');

export interface Mapped {
  errno: number;
  /** True when the error is part of normal operation (a name that is not there, a write refused). */
  expected: boolean;
}

export function toErrno(e: unknown): Mapped {
  if (e instanceof FsError) return { errno: errnoOf(e.errno), expected: e.errno !== 'EIO' };
  // Every MedoError that reaches an op (ERR_OBJECT_MISSING, ERR_OBJECT_CORRUPT, ERR_PACK_CORRUPT,
  // ERR_DELTA_CORRUPT, ERR_TREE_*, ERR_TOO_LARGE, ...) means the content cannot be served as recorded;
  // anything else is a bug. Both are EIO for this one request, logged by the caller.
  return { errno: EIO, expected: false };
}
