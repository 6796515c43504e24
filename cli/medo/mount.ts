// `medo mount SOURCE MOUNTPOINT`: serve a medo directory, a .treeptr or a git tree read-only through FUSE.
// Without --foreground, medod serves it: the request goes over the control socket (lib/daemon-protocol.ts)
// and the command returns once the daemon answers that the mount is ready. With --foreground this process
// serves the mount itself (daemon/serve.ts is imported only then, so other verbs never load the FUSE binding).
import { resolve } from 'node:path';
import { request, type MountFlags, type MountStatus } from '../../lib/daemon-protocol.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';
import { REMOTE_OPTIONS, remoteSettings } from './remote-options.js';

// The levels pino knows (daemon/log.ts checks the same list); kept here so this file does not load pino.
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** -o options, comma-separated (several -o add up). */
export function parseMountOptions(specs: readonly string[]): MountFlags {
  const flags: MountFlags = {};
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

export const mountCommand: Command = {
  name: 'mount',
  help: `usage: medo mount SOURCE MOUNTPOINT [--foreground] [--rev TREE-ISH] [-o OPTIONS] [--socket PATH] [--log-level LEVEL]
                  [--cache-dir DIR] [--timeout SECS] [--parallel N] [--whole-packs]

SOURCE is
  a medo directory   every .treeptr below it appears as a directory (a tree) or a file (a blob) of the
                     same name without the extension, nested folders kept;
  a .treeptr file    its tree is the mount's root;
  a git repository   (bare or not) the tree of --rev, default HEAD: a branch, tag, full commit or tree id,
                     with ~N, ^N, ^{tree} suffixes, or REV:PATH for a subdirectory. No checkout is needed.
The mount is read-only: every write fails with EROFS. Entries carry the extended attribute user.medo.oid
(their blob or tree id). Modes and mtimes come from the .treeptr's metadata sidecar when it has one;
otherwise files show 0644 (0755 executable), directories 0755, and the time 2000-01-01T00:00:00Z.

Remote silos (URLs in SILO.json) are read through the host's cache of them. An object the cache lacks
is fetched when a reader first needs it (a directory looked into, a file stat'ed or read), checked
against its id, and kept in the cache: later reads, and later mounts, need no network. A server that
is down, stalls past --timeout or sends wrong bytes (twice) makes that one request fail with EIO; the
mount stays up and the next request for it tries again. A cached copy found torn is fetched again.
Once two files of a listed directory have been fetched, its other small files are fetched ahead in a
few requests (MEDO_MOUNT_PREFETCH=0 turns that off). 'medo prefetch' fetches whole wedges ahead of time.

  --foreground       serve the mount in this process until SIGINT or SIGTERM (then unmount, exit 0)
                     or until it is unmounted. Without it, the medo daemon (medod) serves the mount
                     and this command returns once the mount is ready; when no daemon answers, it
                     says so and exits 3.
  --rev TREE-ISH     the revision of a git repository to mount (default HEAD)
  -o OPTIONS         comma-separated: allow_other, allow_root (let other users read; non-root users need
                     user_allow_other in /etc/fuse.conf), nonempty (mount over a non-empty directory),
                     debug (libfuse's trace on stderr); ro and default_permissions are always on
  --socket PATH      medod's control socket (default: MEDO_SOCKET, else /run/medo/medod.sock)
  --log-level LEVEL  with --foreground: fatal, error, warn, info (default, or MEDO_LOG_LEVEL), debug, trace
                     (medod has its own --log-level)
  --ready-fd N       with --foreground: write "ready" (or "error <message>") and a newline on file
                     descriptor N once the mount answers (or failed), then close it
  --cache-dir DIR    with --foreground: the host's cache of remote silos (default $MEDO_CACHE_DIR, else
                     /var/cache/medo); medod uses MEDO_CACHE_DIR from its own environment
  --timeout SECS     with --foreground: fail a fetch after SECS seconds without progress (default
                     $MEDO_HTTP_TIMEOUT, else 30); medod uses MEDO_HTTP_TIMEOUT from its environment
  --parallel N       with --foreground: HTTP requests in flight at once (default 8)
  --whole-packs      with --foreground: download a remote pack whole (checked, then kept in the cache)
                     the first time one of its objects is needed, rather than Range requests

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
        socket: { type: 'string' },
        'log-level': { type: 'string' },
        'ready-fd': { type: 'string' },
        ...REMOTE_OPTIONS,
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
      if (values.socket !== undefined) usage('--socket is for mounts served by medod, not --foreground');
      const { cacheDir, options } = remoteSettings(values);
      const { serve } = await import('../../daemon/serve.js');
      const { createLogger } = await import('../../daemon/log.js');
      const code = await serve({
        source, mountpoint, fuse,
        ...(values.rev !== undefined ? { rev: values.rev } : {}),
        ...(readyFd !== undefined ? { readyFd } : {}),
        remote: { cacheDir, store: options },
      }, createLogger(level));
      // The binding keeps a libuv handle open after an unmount from outside; nothing is left to wait for.
      process.exit(code);
    }
    if (level !== undefined) usage('--log-level is for --foreground; medod has its own');
    for (const o of Object.keys(REMOTE_OPTIONS) as (keyof typeof REMOTE_OPTIONS)[]) {
      if (values[o] !== undefined) usage(`--${o} is for --foreground; medod takes MEDO_CACHE_DIR and MEDO_HTTP_TIMEOUT from its own environment`);
    }
    await request<MountStatus>({
      op: 'mount', source: resolve(source), mountpoint: resolve(mountpoint), options: fuse,
      ...(values.rev !== undefined ? { rev: values.rev } : {}),
    }, { ...(values.socket !== undefined ? { socket: values.socket } : {}) });
    return EXIT_OK;
  },
};
