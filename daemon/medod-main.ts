// The medod program: `medod [--socket PATH] [--state-dir DIR] [--log-level LEVEL] [--socket-mode OCTAL]`.
// Logs JSON lines on stderr (the journal under systemd). SIGTERM and SIGINT unmount everything and exit 0;
// SIGHUP re-reads every mounted medo directory.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_STATE_DIR, socketPath } from '../lib/daemon-protocol.js';
import { isMedoError } from '../lib/errors.js';
import { keepYoungGenerationSmall } from './heap.js';
import { createLogger } from './log.js';
import { Medod } from './medod.js';
import { notifySystemd } from './sd-notify.js';

const HELP = `usage: medod [--socket PATH] [--state-dir DIR] [--log-level LEVEL] [--socket-mode MODE]

The medo mount daemon: serves any number of read-only FUSE mounts in one process, driven by
'medo mount', 'medo unmount', 'medo status' and mount.fuse.medo over a control socket.
  --socket PATH      control socket (default: MEDO_SOCKET, else /run/medo/medod.sock)
  --state-dir DIR    where the mount table is kept, so a restart brings mounts back (default /var/lib/medo)
  --socket-mode MODE permissions of the socket file, octal (default 0660: root and the socket's group)
  --log-level LEVEL  fatal, error, warn, info (default, or MEDO_LOG_LEVEL), debug, trace
Signals: SIGTERM/SIGINT unmount everything and exit 0 (the table is kept for the next start);
SIGHUP re-reads mounted medo directories (new .treeptrs appear, removed ones disappear).
Remote silos (URLs in SILO.json) are read through the host cache MEDO_CACHE_DIR (default
/var/cache/medo) and fetched on demand with a timeout of MEDO_HTTP_TIMEOUT seconds (default 30).
Logs are JSON lines on stderr. Exit status: 0 stopped cleanly, 2 bad usage, 3 could not start.
`;

function main(): Promise<number> | number {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        socket: { type: 'string' }, 'state-dir': { type: 'string' }, 'log-level': { type: 'string' },
        'socket-mode': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`medod: ${(e as Error).message}\nTry 'medod --help'.\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const mode = values['socket-mode'] === undefined ? 0o660 : parseInt(values['socket-mode'], 8);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    process.stderr.write(`medod: --socket-mode must be octal permissions such as 0660, got ${values['socket-mode']}\n`);
    return 2;
  }
  let log;
  try {
    log = createLogger(values['log-level']);
  } catch (e) {
    process.stderr.write(`medod: ${(e as Error).message}\n`);
    return 2;
  }
  keepYoungGenerationSmall();
  const daemon = new Medod({
    socket: resolve(socketPath(values.socket)),
    stateDir: resolve(values['state-dir'] ?? DEFAULT_STATE_DIR),
    socketMode: mode,
    log,
  });
  return (async () => {
    let stopping: Promise<number> | undefined;
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      stopping ??= daemon.stop();
      stopping.then((code) => process.exit(code), () => process.exit(1));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP' }, 're-reading medo directories');
      daemon.requestReload().catch((e: unknown) => log.error({ err: (e as Error).message }, 'reload failed'));
    });
    try {
      await daemon.start();
    } catch (e) {
      log.fatal({ err: isMedoError(e) ? e.message : (e as Error).stack }, 'medod cannot start');
      await daemon.stop().catch(() => undefined);
      return 3;
    }
    const problem = await notifySystemd('READY=1');
    if (problem !== undefined) log.warn({}, problem);
    // Runs until a signal; the process exits from stop().
    return new Promise<number>(() => undefined);
  })();
}

const code = await main();
process.exit(code);
