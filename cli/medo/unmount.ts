// `medo unmount MOUNTPOINT`: a mount served by medod is taken down by asking the daemon (which then forgets
// it: it is not brought back at the next start). Any other medo mount (`medo mount --foreground`) is taken
// down with fusermount -u (umount as a fallback); the process serving it notices and exits. Anything that
// is not a medo mount is refused.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { isMedoMount } from '../../daemon/mount-table.js';
import { request } from '../../lib/daemon-protocol.js';
import { MedoError, isMedoError } from '../../lib/errors.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

function run(cmd: string, args: string[]): { ok: boolean; message: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error !== undefined) return { ok: false, message: `${cmd}: ${r.error.message}` };
  return { ok: r.status === 0, message: r.stderr.trim() || `${cmd} exited with status ${r.status}` };
}

export const unmountCommand: Command = {
  name: 'unmount',
  help: `usage: medo unmount [--lazy] [--socket PATH] MOUNTPOINT

Unmounts MOUNTPOINT, which must be a medo mount (type fuse.medo in /proc/mounts). A mount served by medod
is taken down by the daemon, which also drops it from its persisted table; any other (--foreground) with
'fusermount -u' (or 'umount' when fusermount is missing or refuses); the process serving it then exits.
  -z, --lazy     detach now even if files are open or a process works inside it; it goes away once unused
  --socket PATH  medod's control socket (default: MEDO_SOCKET, else /run/medo/medod.sock)
Exit status: 0 unmounted, 2 bad usage, 3 not a medo mount or the unmount failed (e.g. busy).
`,
  async run(args) {
    const { values, positionals } = parse({ args, allowPositionals: true, options: { lazy: { type: 'boolean', short: 'z' }, socket: { type: 'string' } } });
    if (positionals.length !== 1) usage('unmount takes MOUNTPOINT');
    const mnt = resolve(positionals[0]!);
    try {
      await request({ op: 'unmount', mountpoint: mnt, lazy: values.lazy ?? false }, { ...(values.socket !== undefined ? { socket: values.socket } : {}) });
      return EXIT_OK;
    } catch (e) {
      // Not the daemon's (or no daemon): a --foreground mount, handled below.
      if (!isMedoError(e) || (e.code !== 'ERR_DAEMON_UNAVAILABLE' && e.code !== 'ERR_NOT_MOUNTED')) throw e;
    }
    if (!(await isMedoMount(mnt))) throw new MedoError('ERR_NOT_MOUNTED', `${mnt} is not a medo mount`, { path: mnt });
    const lazy = values.lazy ?? false;
    const fusermount = run('fusermount', [lazy ? '-uz' : '-u', mnt]);
    if (fusermount.ok) return EXIT_OK;
    const umount = run('umount', [...(lazy ? ['-l'] : []), mnt]);
    if (umount.ok) return EXIT_OK;
    throw new MedoError('ERR_MOUNT_FAILED', `cannot unmount ${mnt}: ${fusermount.message}; ${umount.message}` +
      (lazy ? '' : ' (if it is busy, --lazy detaches it now)'), { path: mnt });
  },
};
