// A real OpenSSH server on a loopback port, for tests of silo send over ssh: its own host key,
// authorized_keys and client key in a temp directory, run in the foreground by this test process and
// stopped by PID in teardown. The client command (MEDO_SSH_COMMAND) trusts exactly that host key.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort, waitForPort } from './silo-servers.js';

export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  port: number;
  user: string;
  /** The ssh client command line for MEDO_SSH_COMMAND. */
  sshCommand: string;
  /** What sshd printed (-e: its log on stderr). */
  log(): string;
}

export async function startSshd(t: ExecutionContext, dir: string): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is not installed: run scripts/setup.sh`);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
  const keygen = (file: string): void => {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  };
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')), { mode: 0o600 });
  const port = await freePort();
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_key.pub'), 'utf8')}`);
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
    'PermitRootLogin prohibit-password', 'AllowTcpForwarding no', 'X11Forwarding no', '',
  ].join('\n'));
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    log += s;
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  await waitForPort(port, child, () => log);
  const sshCommand = `ssh -i ${join(dir, 'client_key')} -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o StrictHostKeyChecking=yes ` +
    '-o BatchMode=yes -o IdentitiesOnly=yes -o LogLevel=ERROR';
  return { port, user: userInfo().username, sshCommand, log: () => log };
}
