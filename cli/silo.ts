// `silo`: create, check and read silos. Each subcommand is a file in cli/silo/, listed here.
import { dispatch, type CommandEntry } from './command.js';
import { runCli } from './run.js';

// Each command's module is loaded only when it runs (or shows its help): start-up pays for one command.
const COMMANDS: CommandEntry[] = [
  { name: 'init', summary: 'create a silo (medo-silo.json, objects/, pack/, derived/)',
    load: async () => (await import('./silo/init.js')).initCommand },
  { name: 'verify', summary: 're-hash every object, check pack trailers and index CRCs; exit 1 naming each bad object',
    load: async () => (await import('./silo/verify.js')).verifyCommand },
  { name: 'cat-file', summary: "print objects as 'git cat-file' does (--batch, -p, -t, -s)",
    load: async () => (await import('./silo/cat-file.js')).catFileCommand },
  { name: 'ls-tree', summary: "list a tree as 'git ls-tree' does",
    load: async () => (await import('./silo/ls-tree.js')).lsTreeCommand },
  { name: 'gc', summary: 'report (or with --prune remove) the objects a keep list does not name',
    load: async () => (await import('./silo/gc.js')).gcCommand },
  { name: 'repack', summary: 'fold loose objects and small packs into one pack',
    load: async () => (await import('./silo/repack.js')).repackCommand },
  { name: 'derive', summary: 'make a tarball, SquashFS or EROFS image of a tree under derived/forms/, checked against the tree',
    load: async () => (await import('./silo/derive.js')).deriveCommand },
  { name: 'delta', summary: 'write a static delta between two versions under derived/deltas/ (for HTTP clients)',
    load: async () => (await import('./silo/delta.js')).deltaCommand },
  { name: 'send', summary: 'copy what another silo lacks of a keep list or some .treeptrs, locally or over ssh',
    load: async () => (await import('./silo/send.js')).sendCommand },
  { name: 'receive', summary: 'the far side of silo send (speaks its protocol on stdin and stdout)',
    load: async () => (await import('./silo/receive.js')).receiveCommand },
  { name: 'unlock', summary: 'show the silo\'s locks (locks/*.lock) and break those whose holder is gone (--force: all)',
    load: async () => (await import('./silo/unlock.js')).unlockCommand },
  { name: 'publish', summary: 'rewrite the pack list (pack/packs) so a static web server can serve the silo',
    load: async () => (await import('./silo/publish.js')).publishCommand },
];

const INTRO = `usage: silo <command> [options]

A silo is a directory of objects named by their git ids: objects/xx/<38 hex>.gz and pack/*.pack + .idx.
STORE below may also be a git repository (work tree, bare repository or .git directory).
`;

await runCli('silo', () => dispatch('silo', INTRO, COMMANDS, process.argv.slice(2)));
