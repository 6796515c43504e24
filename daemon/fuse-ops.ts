// FUSE operations over a MountSource. libfuse 2's high-level API names files by path ('/a/b'); the source
// takes paths relative to the root ('a/b'). Every op has the same shape:
//   try { cb(0, await work()) } catch (e) { cb(toErrno(e)) }
// (read answers with the byte count in the first argument, as the binding expects). The work runs inside
// withFetch: over remote silos, an object the cache lacks is fetched and the op runs again. Every write op answers
// EROFS; with the `ro` mount option the kernel refuses most of them before they get here.
import { constants } from 'node:fs';
import { isMedoError } from '../lib/errors.js';
import { withFetch } from '../lib/mount/fetch-on-miss.js';
import type { MountNode, MountSource } from '../lib/mount/source.js';
import type { MountCounters } from './counters.js';
import { EROFS, FsError, toErrno } from './errno.js';
import type { Logger } from './log.js';

type Cb<T = never> = (err: number, value?: T) => void;

/** The binding's stat shape (fuse-native index.js getStatArray); times in milliseconds. */
export interface FuseStat {
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  nlink?: number;
  ino: number;
  blksize?: number;
  blocks?: number;
  atime?: number;
  mtime?: number;
  ctime?: number;
}

export interface FuseStatfs {
  bsize: number; frsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; favail: number; fsid: number; flag: number; namemax: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface FuseOps {
  getattr(path: string, cb: Cb<FuseStat>): void;
  readdir(path: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void): void;
  read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (res: number) => void): void;
  readlink(path: string, cb: Cb<string>): void;
  statfs(path: string, cb: Cb<FuseStatfs>): void;
  getxattr(path: string, name: string, position: number, cb: Cb<Buffer>): void;
  listxattr(path: string, cb: Cb<string[]>): void;
  [writeOp: string]: (...args: any[]) => void;
}

export const WRITE_OPS = [
  'write', 'create', 'mkdir', 'unlink', 'rmdir', 'rename', 'chmod', 'chown', 'truncate', 'ftruncate', 'utimens',
  'setxattr', 'removexattr', 'symlink', 'link', 'mknod',
] as const;

const TYPE_BITS = { dir: constants.S_IFDIR, file: constants.S_IFREG, symlink: constants.S_IFLNK } as const;
const BLOCK = 4096;
const UINT32_MAX = 0xffffffff;

export interface Owner {
  uid: number;
  gid: number;
}

export function toStat(node: MountNode, owner: Owner): FuseStat {
  const ms = node.mtimeSec * 1000 + Math.floor(node.mtimeNsec / 1e6);
  const size = node.size;
  return {
    mode: TYPE_BITS[node.kind] | node.perm,
    uid: owner.uid,
    gid: owner.gid,
    size,
    nlink: node.nlink,
    ino: node.ino,
    blksize: BLOCK,
    blocks: Math.ceil(size / 512),
    atime: ms,
    mtime: ms,
    ctime: ms,
  };
}

const relative = (path: string): string => (path === '/' ? '' : path.slice(1));

export function createOps(source: MountSource, log: Logger, owner: Owner, counters?: MountCounters): FuseOps {
  const tracing = log.isLevelEnabled('trace');

  const fail = (op: string, path: string, e: unknown): number => {
    const { errno, expected } = toErrno(e);
    if (!expected) {
      if (counters !== undefined) counters.errors++;
      const data = isMedoError(e) ? e.data : {};
      log.error({ op, path, errno, code: (e as { code?: unknown }).code, oid: data.oid, silo: data.store, file: data.path, offset: data.offset, url: data.url,
        err: isMedoError(e) ? e.message : e instanceof Error ? e.stack : String(e) }, `${op} ${path} failed`);
    } else if (tracing) {
      log.trace({ op, path, errno }, 'op refused');
    }
    return errno;
  };

  // try { cb(0, await work()) } catch (e) { cb(toErrno(e)) }, without a promise when the work is synchronous
  // (lookups, listings, attributes: most ops) and nothing misses, which spares a microtask and an allocation per op.
  const serve = <T>(op: string, path: string, cb: Cb<T>, work: () => T | Promise<T>): void => {
    counters?.op(op);
    if (tracing) log.trace({ op, path }, 'op');
    let result: T | Promise<T>;
    try {
      result = withFetch(source, work);
    } catch (e) {
      cb(fail(op, path, e));
      return;
    }
    if (result instanceof Promise) result.then((v) => cb(0, v), (e: unknown) => cb(fail(op, path, e)));
    else cb(0, result);
  };

  const find = (path: string): MountNode => {
    const node = source.lookup(relative(path));
    if (node === undefined) throw new FsError('ENOENT');
    return node;
  };

  const ops: FuseOps = {
    getattr: (path, cb) => serve('getattr', path, cb, () => toStat(find(path), owner)),

    readdir(path, cb) {
      counters?.op('readdir');
      if (tracing) log.trace({ op: 'readdir', path }, 'op');
      const listing = (): { names: string[]; stats: FuseStat[] } => {
        const dir = find(path);
        if (dir.kind !== 'dir') throw new FsError('ENOTDIR');
        const rel = relative(path);
        const entries = source.list(rel) ?? [];
        const parent = rel === '' ? dir : source.lookup(rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '') ?? dir;
        // libfuse 2 hands the kernel only the type and inode of each entry (no readdirplus), so that is all we build.
        const names = ['.', '..'];
        const stats: FuseStat[] = [{ mode: TYPE_BITS.dir, ino: dir.ino }, { mode: TYPE_BITS.dir, ino: parent.ino }];
        for (const e of entries) {
          names.push(e.name);
          stats.push({ mode: TYPE_BITS[e.kind], ino: e.ino });
        }
        return { names, stats };
      };
      const failed = (e: unknown): void => cb(fail('readdir', path, e));
      try {
        const r = withFetch(source, listing);
        if (r instanceof Promise) r.then((l) => cb(0, l.names, l.stats), failed);
        else cb(0, r.names, r.stats);
      } catch (e) {
        failed(e);
      }
    },

    read(path, _fd, buf, len, pos, cb) {
      counters?.op('read');
      if (tracing) log.trace({ op: 'read', path, pos, len }, 'op');
      const copy = (data: Buffer): void => {
        const n = data.copy(buf, 0, 0, Math.min(data.length, len));
        if (counters !== undefined) counters.bytesRead += n;
        cb(n);
      };
      try {
        void Promise.resolve(withFetch(source, () => {
          const node = find(path);
          if (node.kind === 'dir') throw new FsError('EISDIR');
          return source.read(node, pos, len);
        })).then(copy, (e: unknown) => cb(fail('read', path, e)));
      } catch (e) {
        cb(fail('read', path, e));
      }
    },

    readlink: (path, cb) => serve('readlink', path, cb, () => {
      const node = find(path);
      if (node.kind !== 'symlink') throw new FsError('EINVAL');
      return source.readlink(node);
    }),

    statfs: (path, cb) => serve('statfs', path, cb, () => {
      const s = source.statfs();
      const clamp = (n: number): number => Math.min(n, UINT32_MAX);
      return { bsize: BLOCK, frsize: BLOCK, blocks: clamp(Math.ceil(s.bytes / BLOCK)), bfree: 0, bavail: 0,
        files: clamp(s.files), ffree: 0, favail: 0, fsid: 0, flag: 1 /* ST_RDONLY */, namemax: 255 };
    }),

    getxattr: (path, name, _position, cb) => serve('getxattr', path, cb, () => {
      const value = source.xattr(find(path), name);
      if (value === undefined) throw new FsError('ENODATA');
      return value;
    }),

    listxattr: (path, cb) => serve('listxattr', path, cb, () => source.xattrNames(find(path))),
  };

  for (const op of WRITE_OPS) {
    ops[op] = (...args: unknown[]) => {
      counters?.op('refused');
      if (tracing) log.trace({ op, path: args[0] }, 'op refused: read-only');
      (args[args.length - 1] as (err: number) => void)(EROFS);
    };
  }
  return ops;
}
