// `medo mount SOURCE MOUNTPOINT`: serve a medo directory, a .treeptr or a git tree read-only through FUSE.
// With --foreground this process serves the mount (daemon/serve.ts is imported only then, so other verbs
// never load the FUSE binding). Without it, a detached child (daemon/serve-process.ts) serves it and this
// process returns once the child reports the mount ready on an inherited pipe, or fails with its error.
// Until the daemon and its control socket exist (docs/mount.md), each mount is one such process.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { MedoFuseOptions } from '../../daemon/medo-fuse.js';
import type { ServeOptions } from '../../daemon/serve.js';
import { MedoError } from '../../lib/errors.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

// The levels pino knows (daemon/log.ts checks the same list); kept here so this file does not load pino.
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** How long to wait for a background mount to report readiness before giving up on it. */
const READY_TIMEOUT_MS = 120_000;

/** -o options, comma-separated (several -o add up). */
export function parseMountOptions(specs: readonly string[]): MedoFuseOptions {
  const flags: MedoFuseOptions = {};
  for (const opt of specs.flatMap((s) => s.split(',')).filter((s) => s !== '')) {
    switch (opt) {
      case 'ro': case 'default_permissions': break; // always on
      case 'allow_other': flags.allowOther = true; break;
      case 'allow_root': flags.allowRoot = true; break;
      case 'nonempty': flags.nonEmpty = true; break;
      case 'debug': flags.debug = true; break;
      case 'rw': usage('-o rw: medo mounts are read-only');
      // falls through (usage throws)
      default: usage(`-o ${opt}: unknown mount option (known: ro, allow_other, allow_root, default_permissions, nonempty, debug)`);
    }
  }
  return flags;
}

function readLine(stream: Readable): Promise<string | undefined> {
  return new Promise((resolveLine) => {
    let text = '';
    const done = (line: string | undefined): void => {
      stream.removeAllListeners('data');
      resolveLine(line);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl >= 0) done(text.slice(0, nl));
    });
    stream.on('end', () => done(text === '' ? undefined : text));
    stream.on('error', () => done(undefined));
  });
}

/** The child's entry: daemon/serve-process.js next to this build (serve-process.ts when run through tsx). */
function serveProcessEntry(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`../../daemon/serve-process${ext}`, import.meta.url));
}

async function mountInBackground(options: ServeOptions, logFile: string): Promise<void> {
  const logFd = openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [...process.execArgv, serveProcessEntry(), JSON.stringify({ ...options, readyFd: 3 })], {
    detached: true,
    stdio: ['ignore', 'ignore', logFd, 'pipe'],
  });
  closeSync(logFd);
  const pipe = child.stdio[3] as Readable;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const timer = setTimeout(() => child.kill('SIGTERM'), READY_TIMEOUT_MS);
  const line = await readLine(pipe);
  clearTimeout(timer);
  pipe.destroy();
  if (line === 'ready') {
    child.unref();
    return;
  }
  const code = await exited;
  const why = line?.startsWith('error ') ? line.slice('error '.length)
    : `the mount process exited${code === null ? '' : ` with status ${code}`} before the mount was ready`;
  throw new MedoError('ERR_MOUNT_FAILED', `${why} (log: ${logFile})`, { path: options.mountpoint });
}

export const mountCommand: Command = {
  name: 'mount',
  summary: 'mount a medo directory, a .treeptr or a git tree read-only (FUSE)',
  help: `usage: medo mount SOURCE MOUNTPOINT [--foreground] [--rev TREE-ISH] [-o OPTIONS] [--log FILE] [--log-level LEVEL]

SOURCE is
  a medo directory   every .treeptr below it appears as a directory (a tree) or a file (a blob) of the
                     same name without the extension, nested folders kept;
  a .treeptr file    its tree is the mount's root;
  a git repository   (bare or not) the tree of --rev, default HEAD: a branch, tag, full commit or tree id,
                     with ~N, ^N, ^{tree} suffixes, or REV:PATH for a subdirectory. No checkout is needed.
The mount is read-only: every write fails with EROFS. Entries carry the extended attribute user.medo.oid
(their blob or tree id). Modes and mtimes come from the .treeptr's metadata sidecar when it has one;
otherwise files show 0644 (0755 executable), directories 0755, and the time 2000-01-01T00:00:00Z.

  --foreground       serve the mount in this process until SIGINT or SIGTERM (then unmount, exit 0)
                     or until it is unmounted. Without it, a background process serves the mount and
                     this command returns once the mount is ready.
  --rev TREE-ISH     the revision of a git repository to mount (default HEAD)
  -o OPTIONS         comma-separated: allow_other, allow_root (let other users read; non-root users need
                     user_allow_other in /etc/fuse.conf), nonempty (mount over a non-empty directory),
                     debug (libfuse's trace on stderr); ro and default_permissions are always on
  --log FILE         where the background process writes its log (JSON lines; default
                     ${join(tmpdir(), 'medo-mount-<mountpoint>.log')})
  --log-level LEVEL  fatal, error, warn, info (default, or MEDO_LOG_LEVEL), debug, trace
  --ready-fd N       with --foreground: write "ready" (or "error <message>") and a newline on file
                     descriptor N once the mount answers (or failed), then close it

Unmount with 'medo unmount MOUNTPOINT'. Exit status: 0 mounted (or, with --foreground, cleanly
unmounted), 2 bad usage, 3 the mount failed.
`,
  async run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: {
        foreground: { type: 'boolean', short: 'f' },
        rev: { type: 'string' },
        o: { type: 'string', short: 'o', multiple: true },
        log: { type: 'string' },
        'log-level': { type: 'string' },
        'ready-fd': { type: 'string' },
      },
    });
    if (positionals.length !== 2) usage('mount takes SOURCE MOUNTPOINT');
    const [source, mountpoint] = positionals as [string, string];
    const fuse = parseMountOptions(values.o ?? []);
    const level = values['log-level'];
    if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    let readyFd: number | undefined;
    if (values['ready-fd'] !== undefined) {
      if (!values.foreground) usage('--ready-fd is for --foreground');
      readyFd = Number(values['ready-fd']);
      if (!Number.isInteger(readyFd) || readyFd < 3) usage(`--ready-fd must be a file descriptor number >= 3, got ${values['ready-fd']}`);
    }
    if (values.foreground) {
      if (values.log !== undefined) usage('--log is for background mounts; with --foreground the log goes to stderr');
      const { serve } = await import('../../daemon/serve.js');
      const { createLogger } = await import('../../daemon/log.js');
      const code = await serve({
        source, mountpoint, fuse,
        ...(values.rev !== undefined ? { rev: values.rev } : {}),
        ...(readyFd !== undefined ? { readyFd } : {}),
      }, createLogger(level));
      // The binding keeps a libuv handle open after an unmount from outside; nothing is left to wait for.
      process.exit(code);
    }
    const abs = resolve(mountpoint);
    const logFile = resolve(values.log ?? join(tmpdir(), `medo-mount-${abs.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_/, '')}.log`));
    await mountInBackground({
      source: resolve(source), mountpoint: abs, fuse,
      ...(values.rev !== undefined ? { rev: values.rev } : {}),
      ...(level !== undefined ? { logLevel: level } : {}),
    }, logFile);
    return EXIT_OK;
  },
};
