// The `-o` string mount(8) hands a helper, reduced to what medod needs. fstab carries options meant for
// mount(8), systemd or the helper's caller alone (mount(8) "FILESYSTEM-INDEPENDENT MOUNT OPTIONS",
// systemd.mount(5)); they are dropped here rather than refused, so an fstab line works as written.
import type { MountFlags } from '../lib/daemon-protocol.js';
import { MedoError } from '../lib/errors.js';

/** Options that mean something to mount(8), fstab or systemd, never to the filesystem. */
const FSTAB_ONLY = new Set(['noauto', 'auto', 'nofail', '_netdev', 'user', 'users', 'nouser', 'owner', 'group', 'defaults', 'sw', 'ro', 'default_permissions',
  // libfuse 2 always mounts nosuid,nodev (and medo content has no devices); mount(8) may pass them explicitly.
  'nosuid', 'nodev',
  // access times: a read-only mount never updates them.
  'noatime', 'relatime', 'atime', 'strictatime', 'nodiratime', 'lazytime']);

export interface HelperMount {
  flags: MountFlags;
  rev?: string;
  /** What was dropped, for --verbose. */
  dropped: string[];
}

export function parseHelperOptions(specs: readonly string[]): HelperMount {
  const out: HelperMount = { flags: {}, dropped: [] };
  for (const opt of specs.flatMap((s) => s.split(',')).filter((s) => s !== '')) {
    if (FSTAB_ONLY.has(opt) || opt.startsWith('x-') || opt.startsWith('comment=') || opt.startsWith('fsname=') || opt.startsWith('subtype=')) {
      out.dropped.push(opt);
      continue;
    }
    if (opt.startsWith('rev=')) {
      out.rev = opt.slice('rev='.length);
      if (out.rev === '') throw new MedoError('ERR_USAGE', '-o rev= needs a revision');
      continue;
    }
    switch (opt) {
      case 'allow_other': out.flags.allowOther = true; break;
      case 'allow_root': out.flags.allowRoot = true; break;
      case 'nonempty': out.flags.nonEmpty = true; break;
      case 'debug': out.flags.debug = true; break;
      case 'rw': throw new MedoError('ERR_USAGE', '-o rw: medo mounts are read-only (use ro)');
      default:
        throw new MedoError('ERR_USAGE', `-o ${opt}: not an option medo knows (known: ro, allow_other, allow_root, default_permissions, nonempty, ` +
          'debug, rev=TREE-ISH; fstab\'s noauto, nofail, _netdev, user, users, defaults, x-*, comment= are dropped)');
    }
  }
  return out;
}
