// Readiness for systemd (Type=notify). Node cannot send on a Unix datagram socket, so the message goes
// through `systemd-notify`, with --pid naming this process as the sender; the unit sets NotifyAccess=all
// because the datagram comes from that child's pid. Without NOTIFY_SOCKET (not under systemd) it does nothing.
import { execFile } from 'node:child_process';

export function notifySystemd(state: string): Promise<string | undefined> {
  if (process.env.NOTIFY_SOCKET === undefined || process.env.NOTIFY_SOCKET === '') return Promise.resolve(undefined);
  const args = [`--pid=${process.pid}`, ...(state === 'READY=1' ? ['--ready'] : [state])];
  return new Promise((resolve) => {
    execFile('systemd-notify', args, (err, _out, stderr) => resolve(err === null ? undefined : `systemd-notify ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
  });
}
