// The control protocol between medod and its clients (`medo mount/unmount/status`, mount.fuse.medo), over
// a Unix domain socket: JSON lines (docs/protocol.md). A client writes one request per line and reads one
// response line per request, in order. Both sides put the protocol version in every message; a server
// answers a request of another version with ERR_PROTOCOL and says which version it speaks.
//
// This module is shared by the daemon and its clients: clients must never import daemon/ (which loads the
// FUSE binding), so everything they both need to agree on lives here.
import { connect } from 'node:net';
import { MedoError, isMedoError, type ErrorCode } from './errors.js';

export const PROTOCOL_VERSION = 1;

/** Where medod listens unless --socket or MEDO_SOCKET says otherwise. */
export const DEFAULT_SOCKET = '/run/medo/medod.sock';
export const DEFAULT_STATE_DIR = '/var/lib/medo';

/** A request or response line may not be longer than this (a mount request is a few hundred bytes). */
export const MAX_LINE_BYTES = 1 << 20;

export function socketPath(option?: string): string {
  return option ?? (process.env.MEDO_SOCKET !== undefined && process.env.MEDO_SOCKET !== '' ? process.env.MEDO_SOCKET : DEFAULT_SOCKET);
}

export interface MountFlags {
  allowOther?: boolean;
  allowRoot?: boolean;
  nonEmpty?: boolean;
  debug?: boolean;
}

export interface MountRequest {
  op: 'mount';
  /** Absolute path of a medo directory, a .treeptr or a git repository. */
  source: string;
  /** Absolute path of the mountpoint. */
  mountpoint: string;
  rev?: string;
  options?: MountFlags;
}

export type Request =
  | { op: 'hello' }
  | MountRequest
  | { op: 'unmount'; mountpoint: string; lazy?: boolean }
  | { op: 'status' }
  | { op: 'reload' };

export type Op = Request['op'];
const OPS: readonly Op[] = ['hello', 'mount', 'unmount', 'status', 'reload'];

export interface MountCountersJson {
  /** FUSE operations served, by kind (getattr, readdir, read, readlink, statfs, getxattr, listxattr, refused). */
  ops: Record<string, number>;
  bytesRead: number;
  cacheHits: number;
  cacheMisses: number;
  /** Requests answered EIO (a damaged or missing object, or a bug). */
  errors: number;
}

export interface MountStatus {
  source: string;
  mountpoint: string;
  kind: string;
  rev?: string;
  options: MountFlags;
  /** The FUSE backend serving it: "lowlevel" (libfuse 3 addon) or "highlevel" (libfuse 2 binding). */
  backend: string;
  /** ISO time the mount became ready. */
  since: string;
  uptimeSec: number;
  counters: MountCountersJson;
  /** .treeptrs left out at the last (re)load, one line each. */
  problems: string[];
}

export interface DaemonStatus {
  pid: number;
  version: number;
  since: string;
  uptimeSec: number;
  socket: string;
  stateDir: string;
  memory: { rss: number; heapUsed: number };
  mounts: MountStatus[];
  /** Persisted mounts that could not be brought back at start (logged); kept for the next start. */
  pending: { source: string; mountpoint: string }[];
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export type Response =
  | { v: number; id?: number; ok: true; result: unknown }
  | { v: number; id?: number; ok: false; error: ErrorBody };

const protocolError = (message: string): MedoError => new MedoError('ERR_PROTOCOL', message);

const isString = (x: unknown): x is string => typeof x === 'string' && x !== '';
/** A request's id: a number its response can repeat. 1e999 parses as Infinity, which JSON writes back as null. */
const requestId = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** Parses and checks one request line; throws ERR_PROTOCOL naming what is wrong (with the request's id in `data.id`). */
export function parseRequest(line: string): { id?: number; request: Request } {
  try {
    return parseRequestUnchecked(line);
  } catch (e) {
    const id = (() => {
      try {
        const m = JSON.parse(line) as { id?: unknown };
        return requestId(m.id);
      } catch {
        return undefined;
      }
    })();
    if (id !== undefined && isMedoError(e)) e.data.id = id;
    throw e;
  }
}

function parseRequestUnchecked(line: string): { id?: number; request: Request } {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    throw protocolError('request is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw protocolError('request is not a JSON object');
  const m = msg as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) throw protocolError(`protocol version ${JSON.stringify(m.v)} is not supported (this daemon speaks ${PROTOCOL_VERSION})`);
  const id = requestId(m.id);
  if (!OPS.includes(m.op as Op)) throw protocolError(`unknown op ${JSON.stringify(m.op)} (known: ${OPS.join(', ')})`);
  const op = m.op as Op;
  const withId = (request: Request): { id?: number; request: Request } => (id === undefined ? { request } : { id, request });
  if (op === 'mount') {
    if (!isString(m.source) || !m.source.startsWith('/')) throw protocolError('mount: source must be an absolute path');
    if (!isString(m.mountpoint) || !m.mountpoint.startsWith('/')) throw protocolError('mount: mountpoint must be an absolute path');
    if (m.rev !== undefined && !isString(m.rev)) throw protocolError('mount: rev must be a string');
    const o = (m.options ?? {}) as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) throw protocolError('mount: options must be an object');
    const options: MountFlags = {};
    for (const k of ['allowOther', 'allowRoot', 'nonEmpty', 'debug'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'boolean') throw protocolError(`mount: options.${k} must be a boolean`);
      if (o[k] === true) options[k] = true;
    }
    return withId({ op, source: m.source, mountpoint: m.mountpoint, ...(m.rev !== undefined ? { rev: m.rev as string } : {}), options });
  }
  if (op === 'unmount') {
    if (!isString(m.mountpoint) || !m.mountpoint.startsWith('/')) throw protocolError('unmount: mountpoint must be an absolute path');
    return withId({ op, mountpoint: m.mountpoint, lazy: m.lazy === true });
  }
  return withId({ op } as Request);
}

export function encodeResponse(id: number | undefined, outcome: { result: unknown } | { error: unknown }): string {
  const base = { v: PROTOCOL_VERSION, ...(id !== undefined ? { id } : {}) };
  if ('result' in outcome) return `${JSON.stringify({ ...base, ok: true, result: outcome.result })}\n`;
  const e = outcome.error;
  const error: ErrorBody = isMedoError(e) ? { code: e.code, message: e.message } : { code: 'ERR_MOUNT_FAILED', message: (e as Error)?.message ?? String(e) };
  return `${JSON.stringify({ ...base, ok: false, error })}\n`;
}

export interface RequestOptions {
  socket?: string;
  /** Give up after this long (a mount of a large medo directory may take seconds; default 2 minutes). */
  timeoutMs?: number;
}

function unavailable(path: string, why: string): MedoError {
  return new MedoError('ERR_DAEMON_UNAVAILABLE', `no medo daemon answers on ${path} (${why}); start it with 'medod' ` +
    `(or 'systemctl start medod'), point --socket or MEDO_SOCKET at it, or use 'medo mount --foreground'`, { path });
}

/** Sends one request and resolves with its result; a daemon error is rethrown as a MedoError with its code. */
export function request<T = unknown>(req: Request, options: RequestOptions = {}): Promise<T> {
  const path = socketPath(options.socket);
  return new Promise<T>((resolvePromise, reject) => {
    const sock = connect(path);
    let text = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolvePromise(value as T);
    };
    const timer = setTimeout(() => finish(new MedoError('ERR_DAEMON_UNAVAILABLE', `medod on ${path} did not answer within ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s`, { path })),
      options.timeoutMs ?? 120_000);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify({ v: PROTOCOL_VERSION, id: 1, ...req })}\n`));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'no such socket' : e.code === 'ECONNREFUSED' ? 'connection refused: a stale socket'
        : e.code === 'EACCES' ? 'permission denied: only root and the socket\'s group may talk to it' : e.message;
      finish(unavailable(path, why));
    });
    sock.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_LINE_BYTES) return finish(protocolError(`response from ${path} is longer than ${MAX_LINE_BYTES} bytes`));
      const nl = text.indexOf('\n');
      if (nl < 0) return undefined;
      let res: Response;
      try {
        res = JSON.parse(text.slice(0, nl)) as Response;
      } catch {
        return finish(protocolError(`response from ${path} is not JSON`));
      }
      // `null` (or a number, a string) is JSON too: reading .ok of null threw out of this handler, uncaught.
      if (typeof res !== 'object' || res === null) return finish(protocolError(`response from ${path} is not a JSON object`));
      if (res.ok) return finish(undefined, res.result as T);
      const code = (typeof res.error?.code === 'string' && res.error.code.startsWith('ERR_') ? res.error.code : 'ERR_PROTOCOL') as ErrorCode;
      return finish(new MedoError(code, String(res.error?.message ?? 'the daemon refused the request'), { path }));
    });
    sock.on('end', () => finish(protocolError(`medod on ${path} closed the connection without answering`)));
  });
}
