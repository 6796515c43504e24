// `medo`: the front-end for medo directories. Each verb is a file in cli/medo/, listed here.
import { dispatch, type CommandEntry } from './command.js';
import { runCli } from './run.js';

// Each command's module is loaded only when it runs (or shows its help): start-up pays for one command.
const COMMANDS: CommandEntry[] = [
  { name: 'add', summary: 'store a directory, a tarball or (--blob) any file in a silo and write its .treeptr',
    load: async () => (await import('./medo/add.js')).addCommand },
  { name: 'expand', aliases: ['sync'], summary: 'materialize a .treeptr or a whole medo directory into a directory, rewriting only what differs',
    load: async () => (await import('./medo/expand.js')).expandCommand },
  { name: 'verify', summary: 'check that a directory holds exactly what a .treeptr or medo directory names; exit 1 listing differences',
    load: async () => (await import('./medo/verify.js')).verifyCommand },
  { name: 'url-for', summary: "where a .treeptr's objects can be fetched: loose file URLs, pack and byte range",
    load: async () => (await import('./medo/url-for.js')).urlForCommand },
  { name: 'reachable', summary: 'list every object id the .treeptrs need (GC roots for silo gc --keep)',
    load: async () => (await import('./medo/reachable.js')).reachableCommand },
  { name: 'mount', summary: 'mount a medo directory, a .treeptr or a git tree read-only (FUSE)',
    load: async () => (await import('./medo/mount.js')).mountCommand },
  { name: 'unmount', aliases: ['umount'], summary: 'unmount a medo mount',
    load: async () => (await import('./medo/unmount.js')).unmountCommand },
  { name: 'status', summary: 'show what the medo daemon serves: mounts, uptime, counters, memory',
    load: async () => (await import('./medo/status.js')).statusCommand },
  { name: 'diff', summary: 'what changed between two wedges (.treeptr, REV:path, tree id or directory): added, removed, changed',
    load: async () => (await import('./medo/diff.js')).diffCommand },
  { name: 'ls', summary: "list a wedge's directory as ls -l does, without mounting it",
    load: async () => (await import('./medo/ls.js')).lsCommand },
  { name: 'cat', summary: "write one file of a wedge to standard output, without mounting it",
    load: async () => (await import('./medo/ls.js')).catCommand },
  { name: 'log', summary: 'each git commit that changed a .treeptr: date, tree id, size, files, provenance',
    load: async () => (await import('./medo/log.js')).logCommand },
  { name: 'prefetch', summary: "fetch a wedge's objects from remote silos into the local cache, in parallel",
    load: async () => (await import('./medo/prefetch.js')).prefetchCommand },
  { name: 'cache', summary: 'show or shrink the local cache of remote silos (status, clean)',
    load: async () => (await import('./medo/cache.js')).cacheCommand },
];

const INTRO = `usage: medo <command> [options]

medo names large directory trees from git (.treeptr files in a *.medo directory whose SILO.json says
where the silos are) and keeps their contents in silos. 'silo --help' lists the silo commands.
`;

await runCli('medo', () => dispatch('medo', INTRO, COMMANDS, process.argv.slice(2)));
