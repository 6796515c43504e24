// `medo`: the front-end for medo directories. Each verb is a file in cli/medo/, listed here.
import { dispatch, type Command } from './command.js';
import { runCli } from './run.js';
import { addCommand } from './medo/add.js';
import { expandCommand } from './medo/expand.js';
import { verifyCommand } from './medo/verify.js';
import { reachableCommand } from './medo/reachable.js';
import { urlForCommand } from './medo/url-for.js';
import { mountCommand } from './medo/mount.js';
import { unmountCommand } from './medo/unmount.js';
import { prefetchCommand } from './medo/prefetch.js';
import { cacheCommand } from './medo/cache.js';
import { statusCommand } from './medo/status.js';

const COMMANDS: Command[] = [
  addCommand,
  expandCommand,
  verifyCommand,
  urlForCommand,
  reachableCommand,
  mountCommand,
  unmountCommand,
  statusCommand,
  prefetchCommand,
  cacheCommand,
];

const INTRO = `usage: medo <command> [options]

medo names large directory trees from git (.treeptr files in a *.medo directory whose SILO.json says
where the silos are) and keeps their contents in silos. 'silo --help' lists the silo commands.
`;

await runCli('medo', () => dispatch('medo', INTRO, COMMANDS, process.argv.slice(2)));
