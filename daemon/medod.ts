// medod: one process serving any number of mounts, driven over a control socket (lib/daemon-protocol.ts,
// docs/protocol.md). Mounts, unmounts and reloads are serialized (one at a time), so the persisted table
// (state-file.ts) always matches what is mounted. The table keeps what clients asked for: a daemon stopped
// by a signal unmounts everything but keeps the table, so its next start brings the mounts back; only an
// unmount request, or an unmount from outside (fusermount -u), removes an entry.
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  MAX_LINE_BYTES, PROTOCOL_VERSION, encodeResponse, parseRequest, request as clientRequest,
  type DaemonStatus, type MountRequest, type MountStatus, type Request,
} from '../lib/daemon-protocol.js';
import { MedoError, isMedoError } from '../lib/errors.js';
import { MountCounters } from './counters.js';
import { remoteEventLogger, type Logger } from './log.js';
import { mountSource, type MountHandle } from './mount.js';
import { unmountPath } from './unmount.js';
import { medoMountDevice, mountTable, MEDO_FSTYPE } from './mount-table.js';
import { ReloadableSource } from './reloadable-source.js';
import { readState, writeState, type PersistedMount } from './state-file.js';

/** How often the daemon checks that its mounts are still there (someone may unmount one from outside). */
const WATCH_INTERVAL_MS = 1000;
/** A medo directory's names: the kernel re-checks a cached name this often, and an absent one every second. */
const MEDO_DIR_ENTRY_TIMEOUT_SEC = 60;
const MEDO_DIR_NEGATIVE_TIMEOUT_SEC = 1;

export interface MedodOptions {
  socket: string;
  stateDir: string;
  log: Logger;
  /** Socket file permissions: root (the owner) and the socket's group may mount. */
  socketMode?: number;
}

interface ActiveMount {
  spec: PersistedMount;
  source: ReloadableSource;
  handle: MountHandle;
  device: string | undefined;
  counters: MountCounters;
  since: Date;
  problems: string[];
}

/** Bounds on what the kernel or a helper may take, so a wedged request fails instead of blocking every other one. */
const MOUNT_READY_TIMEOUT_MS = 30_000;
const STOP_WAIT_MS = 10_000;

export class Medod {
  private readonly mounts = new Map<string, ActiveMount>();
  /** Entries of the persisted table that could not be brought back: kept, so a later start tries again. */
  private readonly pending = new Map<string, PersistedMount>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private readonly started = new Date();
  private watching: Promise<void> | undefined;

  constructor(private readonly options: MedodOptions) {}

  private get log(): Logger {
    return this.options.log;
  }

  /** One state change at a time. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async start(): Promise<void> {
    mkdirSync(this.options.stateDir, { recursive: true, mode: 0o700 });
    await this.listen();
    const { mounts, problem } = readState(this.options.stateDir);
    if (problem !== undefined) this.log.error({ stateDir: this.options.stateDir }, problem);
    for (const m of mounts) {
      try {
        await this.mount(m);
      } catch (e) {
        this.pending.set(m.mountpoint, m);
        this.log.error({ source: m.source, mountpoint: m.mountpoint, err: (e as Error).message }, 'cannot bring a persisted mount back');
      }
    }
    this.watching = this.watch();
    this.log.info({ socket: this.options.socket, stateDir: this.options.stateDir, mounts: this.mounts.size }, 'medod ready');
  }

  private async listen(): Promise<void> {
    const path = this.options.socket;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    // A socket file left by a daemon that died: remove it, unless a live daemon answers on it.
    try {
      await clientRequest({ op: 'hello' }, { socket: path, timeoutMs: 5000 });
      throw new MedoError('ERR_USAGE', `another medod is already listening on ${path}`, { path });
    } catch (e) {
      if (!isMedoError(e) || e.code !== 'ERR_DAEMON_UNAVAILABLE') throw e;
      try {
        unlinkSync(path);
      } catch {
        // nothing there
      }
    }
    const server = createServer((sock) => this.connection(sock));
    // The socket is created with the umask's permissions: no moment where others may connect.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, this.options.socketMode ?? 0o660);
    this.server = server;
  }

  private connection(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.setEncoding('utf8');
    let buffered = '';
    let chain = Promise.resolve();
    sock.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE_BYTES) {
        sock.end(encodeResponse(undefined, { error: new MedoError('ERR_PROTOCOL', `request longer than ${MAX_LINE_BYTES} bytes`) }));
        buffered = '';
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === '') continue;
        // Answers go out in request order.
        chain = chain.then(async () => {
          let id: number | undefined;
          try {
            const parsed = parseRequest(line);
            id = parsed.id;
            const result = await this.handle(parsed.request);
            if (!sock.destroyed) sock.write(encodeResponse(id, { result }));
          } catch (e) {
            if (!isMedoError(e)) this.log.error({ err: (e as Error).stack }, 'request failed');
            else if (id === undefined && typeof e.data.id === 'number') id = e.data.id;
            if (!sock.destroyed) sock.write(encodeResponse(id, { error: e }));
          }
        });
      }
    });
  }

  private async handle(req: Request): Promise<unknown> {
    switch (req.op) {
      case 'hello': return { version: PROTOCOL_VERSION, pid: process.pid };
      case 'status': return this.status();
      case 'mount': return this.serial(async () => {
        const spec = this.toSpec(req);
        await this.mount(spec);
        this.pending.delete(spec.mountpoint);
        this.persist();
        return this.mountStatus(this.mounts.get(spec.mountpoint)!);
      });
      case 'unmount': return this.serial(async () => {
        const mountpoint = resolvePath(req.mountpoint);
        await this.unmount(mountpoint, req.lazy ?? false);
        this.persist();
        return { mountpoint };
      });
      case 'reload': return this.serial(async () => this.reload());
    }
  }

  private toSpec(req: MountRequest): PersistedMount {
    if (this.stopping) throw new MedoError('ERR_MOUNT_FAILED', 'medod is shutting down');
    // Normalized ('/a/../b/' is '/b'): the table and /proc/self/mountinfo are compared as strings.
    return { source: resolvePath(req.source), mountpoint: resolvePath(req.mountpoint), ...(req.rev !== undefined ? { rev: req.rev } : {}), options: req.options ?? {} };
  }

  private persist(): void {
    const all = new Map<string, PersistedMount>(this.pending);
    for (const [mnt, m] of this.mounts) all.set(mnt, m.spec);
    writeState(this.options.stateDir, [...all.values()]);
  }

  /**
   * A mountpoint whose server died answers ENOTCONN ("Transport endpoint is not connected"): detach it.
   * statfs, not stat: the kernel may answer a stat of the root from its attribute cache, never a statfs.
   */
  private async cleanStale(mountpoint: string): Promise<void> {
    try {
      await statfs(mountpoint);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOTCONN') return;
    }
    // Only medo's own dead mounts: another filesystem's is its owner's business.
    if ((await medoMountDevice(mountpoint)) === undefined) return;
    const r = await unmountPath(mountpoint, true);
    if (r.ok) this.log.warn({ mountpoint }, 'cleaned a dead mount (transport endpoint not connected)');
    else this.log.error({ mountpoint, err: r.message }, 'cannot clean a dead mount');
  }

  private async mount(spec: PersistedMount): Promise<void> {
    if (this.mounts.has(spec.mountpoint)) {
      throw new MedoError('ERR_MOUNT_FAILED', `${spec.mountpoint} is already a medo mount (of ${this.mounts.get(spec.mountpoint)!.spec.source})`, { path: spec.mountpoint });
    }
    await this.cleanStale(spec.mountpoint);
    const started = performance.now();
    // Remote silos: the host cache and HTTP timeout come from medod's environment (MEDO_CACHE_DIR, MEDO_HTTP_TIMEOUT).
    const source = new ReloadableSource({ source: spec.source, ...(spec.rev !== undefined ? { rev: spec.rev } : {}), remote: { onEvent: remoteEventLogger(this.log) } });
    const isMedoDir = source.opened.kind === 'medo-dir';
    const counters = new MountCounters();
    let handle: MountHandle;
    try {
      handle = await mountSource(source, spec.mountpoint, {
        ...spec.options, log: this.log, counters, readyTimeoutMs: MOUNT_READY_TIMEOUT_MS,
        // For the libfuse 2 backend, which cannot tell the kernel what a reload changed (the low-level one can).
        ...(isMedoDir ? { entryTimeoutSec: MEDO_DIR_ENTRY_TIMEOUT_SEC, negativeTimeoutSec: MEDO_DIR_NEGATIVE_TIMEOUT_SEC } : {}),
      });
    } catch (e) {
      source.close();
      throw e;
    }
    const device = await medoMountDevice(handle.mountpoint);
    const problems = source.opened.problems;
    for (const p of problems) this.log.warn({ source: spec.source }, p);
    this.mounts.set(spec.mountpoint, { spec, source, handle, device, counters, since: new Date(), problems });
    this.log.info({ source: spec.source, kind: source.opened.kind, rev: spec.rev, mountpoint: spec.mountpoint, device, backend: handle.backend,
      ms: Math.round((performance.now() - started) * 10) / 10 }, 'mounted');
  }

  private async unmount(mountpoint: string, lazy: boolean): Promise<void> {
    const m = this.mounts.get(mountpoint);
    if (m === undefined) {
      if (this.pending.delete(mountpoint)) return;
      throw new MedoError('ERR_NOT_MOUNTED', `${mountpoint} is not mounted by this medod`, { path: mountpoint });
    }
    // The binding's unmount is lazy (MNT_DETACH, daemon/unmount.ts); a plain unmount first refuses a busy mount.
    if (!lazy) {
      const r = await unmountPath(mountpoint, false);
      if (!r.ok && (await medoMountDevice(mountpoint)) === m.device) {
        throw new MedoError('ERR_MOUNT_FAILED', `cannot unmount ${mountpoint}: ${r.message} (if it is busy, --lazy detaches it now)`, { path: mountpoint });
      }
    }
    this.mounts.delete(mountpoint);
    await m.handle.unmount().catch(() => undefined); // already gone after a plain unmount: only the binding's cleanup matters
    m.source.close();
    m.handle.release();
    this.log.info({ mountpoint, source: m.spec.source }, 'unmounted');
  }

  /** Re-reads every medo directory; a source that no longer opens keeps serving its previous load. */
  private reload(): { mounts: { mountpoint: string; problems?: string[]; error?: string }[] } {
    const out: { mountpoint: string; problems?: string[]; error?: string }[] = [];
    for (const [mountpoint, m] of this.mounts) {
      if (m.source.opened.kind !== 'medo-dir') continue;
      try {
        const r = m.source.reload();
        m.problems = r.problems;
        m.handle?.invalidate?.(r.changed);
        for (const p of m.problems) this.log.warn({ source: m.spec.source }, p);
        out.push({ mountpoint, problems: m.problems });
      } catch (e) {
        this.log.error({ mountpoint, source: m.spec.source, err: (e as Error).message }, 'reload failed; the previous load stays');
        out.push({ mountpoint, error: (e as Error).message });
      }
    }
    this.log.info({ mounts: out.length }, 'reloaded medo directories');
    return { mounts: out };
  }

  /** SIGHUP. */
  requestReload(): Promise<unknown> {
    return this.serial(async () => this.reload());
  }

  private mountStatus(m: ActiveMount): MountStatus {
    const cache = m.source.cacheStats();
    return {
      source: m.spec.source,
      mountpoint: m.spec.mountpoint,
      kind: m.source.opened.kind,
      ...(m.spec.rev !== undefined ? { rev: m.spec.rev } : {}),
      options: m.spec.options,
      backend: m.handle.backend,
      since: m.since.toISOString(),
      uptimeSec: Math.round((Date.now() - m.since.getTime()) / 1000),
      counters: { ops: m.counters.opsNow(), bytesRead: m.counters.bytesRead, cacheHits: cache.hits, cacheMisses: cache.misses, errors: m.counters.errors },
      problems: m.problems,
    };
  }

  status(): DaemonStatus {
    const mem = process.memoryUsage();
    return {
      pid: process.pid,
      version: PROTOCOL_VERSION,
      since: this.started.toISOString(),
      uptimeSec: Math.round((Date.now() - this.started.getTime()) / 1000),
      socket: this.options.socket,
      stateDir: this.options.stateDir,
      memory: { rss: mem.rss, heapUsed: mem.heapUsed },
      mounts: [...this.mounts.values()].map((m) => this.mountStatus(m)),
      pending: [...this.pending.values()].map((m) => ({ source: m.source, mountpoint: m.mountpoint })),
    };
  }

  /** Notices mounts taken down from outside (fusermount -u, umount) and forgets them. */
  private async watch(): Promise<void> {
    while (!this.stopping) {
      await sleep(WATCH_INTERVAL_MS, undefined, { ref: false });
      if (this.stopping) break;
      await this.serial(async () => {
        const table = await mountTable();
        let changed = false;
        for (const [mnt, m] of this.mounts) {
          const mine = table.filter((e) => e.mountpoint === mnt && e.fstype === MEDO_FSTYPE);
          if (mine[mine.length - 1]?.device === m.device) continue;
          this.mounts.delete(mnt);
          m.source.close();
          m.handle.release();
          changed = true;
          this.log.info({ mountpoint: mnt, source: m.spec.source, reason: 'unmounted from outside' }, 'unmounted');
        }
        if (changed) this.persist();
      }).catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'mount watch failed'));
    }
  }

  /** SIGTERM/SIGINT: unmount everything (the table stays for the next start), close the socket. */
  async stop(): Promise<number> {
    if (this.stopping) return 0;
    this.stopping = true;
    let code = 0;
    // Let a mount or unmount under way finish, but not forever: stopping must not hang on one stuck request.
    const settled = await Promise.race([this.queue.then(() => true), sleep(STOP_WAIT_MS, false)]);
    if (!settled) this.log.error({}, `a request was still running after ${STOP_WAIT_MS} ms; unmounting anyway`);
    await (async () => {
      for (const [mnt, m] of this.mounts) {
        try {
          await m.handle.unmount();
        } catch (e) {
          code = 1;
          this.log.error({ mountpoint: mnt, err: (e as Error).message }, 'unmount failed');
        }
        m.source.close();
        m.handle.release();
        this.log.info({ mountpoint: mnt, source: m.spec.source, reason: 'daemon stopping' }, 'unmounted');
      }
      this.mounts.clear();
    })();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.log.info({}, 'medod stopped');
    return code;
  }
}
