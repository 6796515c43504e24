// mount.fuse.medo: what mount(8) runs for `mount -t fuse.medo SOURCE DIR -o OPTIONS` and for an fstab line
// of type fuse.medo. It is called as
//   mount.fuse.medo SOURCE MOUNTPOINT [-sfnv] [-N NS] [-o OPTIONS] [-t fuse.medo]
// (mount(8) "EXTERNAL HELPERS"), asks medod over its control socket to mount, and returns only when the
// daemon says the mount answers. Exit status follows mount(8): 0 mounted, 1 bad invocation, 32 the mount
// failed (with a message on stderr naming why).
import { resolve } from 'node:path';
import { DEFAULT_SOCKET, request } from '../lib/daemon-protocol.js';
import { isMedoError } from '../lib/errors.js';
import { parseHelperOptions } from './fstab-options.js';

const EXIT_USAGE = 1;
const EXIT_MOUNT_FAILURE = 32;

const USAGE = `usage: mount.fuse.medo SOURCE MOUNTPOINT [-o OPTIONS] [-fnsv]

Mounts SOURCE (a medo directory, a .treeptr or a git repository) read-only at MOUNTPOINT through the medo
daemon (medod), for mount(8) and /etc/fstab: 'mount -t fuse.medo SOURCE MOUNTPOINT -o ro,allow_other'.
OPTIONS: ro, allow_other, allow_root, default_permissions, nonempty, debug, rev=TREE-ISH (git sources);
fstab's own (noauto, nofail, _netdev, user, users, defaults, x-systemd.*, comment=...) are ignored.
  -f  fake: check the options, do not mount    -v  say what is done    -n, -s  accepted, no effect
The daemon's socket is MEDO_SOCKET, else ${DEFAULT_SOCKET}.
`;

function fail(code: number, message: string): number {
  process.stderr.write(`mount.fuse.medo: ${message}\n`);
  return code;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const positionals: string[] = [];
  const opts: string[] = [];
  let fake = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-o') {
      if (argv[i + 1] === undefined) return fail(EXIT_USAGE, '-o needs OPTIONS');
      opts.push(argv[++i]!);
    } else if (a.startsWith('-o')) {
      opts.push(a.slice(2));
    } else if (a === '-t') {
      i++; // the type mount(8) resolved to us
    } else if (a === '-N') {
      return fail(EXIT_USAGE, '-N (mount in another namespace) is not supported: bind-mount the wedge into the namespace instead');
    } else if (/^-[fnsv]+$/.test(a)) {
      fake ||= a.includes('f');
      verbose ||= a.includes('v');
    } else if (a.startsWith('-') && a !== '-') {
      return fail(EXIT_USAGE, `unknown flag ${a}\n${USAGE}`);
    } else {
      positionals.push(a);
    }
  }
  if (positionals.length !== 2) return fail(EXIT_USAGE, `takes SOURCE MOUNTPOINT\n${USAGE}`);
  let parsed;
  try {
    parsed = parseHelperOptions(opts);
  } catch (e) {
    return fail(EXIT_USAGE, (e as Error).message);
  }
  const [source, mountpoint] = [resolve(positionals[0]!), resolve(positionals[1]!)];
  if (verbose && parsed.dropped.length > 0) process.stderr.write(`mount.fuse.medo: ignoring ${parsed.dropped.join(',')}\n`);
  if (fake) return 0;
  try {
    await request({ op: 'mount', source, mountpoint, options: parsed.flags, ...(parsed.rev !== undefined ? { rev: parsed.rev } : {}) });
  } catch (e) {
    return fail(EXIT_MOUNT_FAILURE, `cannot mount ${source} at ${mountpoint}: ${isMedoError(e) ? e.message : (e as Error).message}`);
  }
  if (verbose) process.stderr.write(`mount.fuse.medo: ${source} mounted at ${mountpoint}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
