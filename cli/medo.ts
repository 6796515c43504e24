// `medo`: the front-end for medo directories. Each verb is a file in cli/medo/, listed here.
import { findCommand, programHelp, type Command } from './command.js';
import { EXIT_OK, EXIT_USAGE, runCli, usage } from './run.js';
import { addCommand } from './medo/add.js';
import { expandCommand } from './medo/expand.js';
import { verifyCommand } from './medo/verify.js';
import { reachableCommand } from './medo/reachable.js';
import { urlForCommand } from './medo/url-for.js';
import { mountCommand } from './medo/mount.js';
import { unmountCommand } from './medo/unmount.js';

const COMMANDS: Command[] = [
  addCommand,
  expandCommand,
  verifyCommand,
  urlForCommand,
  reachableCommand,
  mountCommand,
  unmountCommand,
];

const INTRO = `usage: medo <command> [options]

medo names large directory trees from git (.treeptr files in a *.medo directory whose SILO.json says
where the silos are) and keeps their contents in silos. 'silo --help' lists the silo commands.
`;

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(programHelp('medo', INTRO, COMMANDS));
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = findCommand(COMMANDS, name);
  if (command === undefined) return usage(`unknown command ${JSON.stringify(name)}`);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.help);
    return EXIT_OK;
  }
  return command.run(args);
}

await runCli('medo', main);
