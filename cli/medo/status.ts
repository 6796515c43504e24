// `medo status [--json]`: what medod serves: each mount with its source, uptime and counters, and the
// daemon's memory. Asks the daemon over the control socket; exit 3 when none answers.
import { request, type DaemonStatus, type MountStatus } from '../../lib/daemon-protocol.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function duration(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

function mountLines(m: MountStatus): string[] {
  const c = m.counters;
  const ops = Object.entries(c.ops).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const flags = Object.entries(m.options).filter(([, v]) => v).map(([k]) => k);
  return [
    `${m.mountpoint}`,
    `  source    ${m.source} (${m.kind}${m.rev !== undefined ? `, rev ${m.rev}` : ''})${flags.length > 0 ? ` [${flags.join(', ')}]` : ''}`,
    `  up        ${duration(m.uptimeSec)} (since ${m.since}), ${m.backend === 'lowlevel' ? 'libfuse 3 low-level' : 'libfuse 2'} backend`,
    `  ops       ${ops}`,
    `  served    ${bytes(c.bytesRead)}; cache ${c.cacheHits} hits, ${c.cacheMisses} misses; ${c.errors} errors`,
    ...m.problems.map((p) => `  skipped   ${p}`),
  ];
}

export function formatStatus(s: DaemonStatus): string {
  const head = `medod pid ${s.pid}, up ${duration(s.uptimeSec)}, rss ${bytes(s.memory.rss)} (heap ${bytes(s.memory.heapUsed)}), ` +
    `${s.mounts.length} mount${s.mounts.length === 1 ? '' : 's'}; socket ${s.socket}`;
  const pending = (s.pending ?? []).map((p) => `${p.mountpoint}\n  NOT MOUNTED: persisted mount of ${p.source} could not be brought back (see the daemon's log)`);
  return `${[head, ...s.mounts.flatMap(mountLines), ...pending].join('\n')}\n`;
}

export const statusCommand: Command = {
  name: 'status',
  help: `usage: medo status [--json] [--socket PATH]

Asks medod for each mount it serves: the source, mountpoint, uptime and counters (FUSE operations by
kind, bytes served, object cache hits and misses, errors answered EIO), and the daemon's memory (rss).
  --json         the daemon's answer as JSON (the 'status' result of docs/protocol.md)
  --socket PATH  medod's control socket (default: MEDO_SOCKET, else /run/medo/medod.sock)
Exit status: 0 shown, 2 bad usage, 3 no daemon answers.
`,
  async run(args) {
    const { values, positionals } = parse({ args, allowPositionals: true, options: { json: { type: 'boolean' }, socket: { type: 'string' } } });
    if (positionals.length !== 0) usage('status takes no arguments');
    const s = await request<DaemonStatus>({ op: 'status' }, { ...(values.socket !== undefined ? { socket: values.socket } : {}), timeoutMs: 30_000 });
    process.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
    return EXIT_OK;
  },
};
