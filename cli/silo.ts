// `silo`: create, check and read silos. Each subcommand is a file in cli/silo/, listed here.
import { findCommand, programHelp, type Command } from './command.js';
import { EXIT_OK, EXIT_USAGE, runCli, usage } from './run.js';
import { catFileCommand } from './silo/cat-file.js';
import { gcCommand } from './silo/gc.js';
import { initCommand } from './silo/init.js';
import { lsTreeCommand } from './silo/ls-tree.js';
import { repackCommand } from './silo/repack.js';
import { verifyCommand } from './silo/verify.js';

const COMMANDS: Command[] = [initCommand, verifyCommand, catFileCommand, lsTreeCommand, gcCommand, repackCommand];

const INTRO = `usage: silo <command> [options]

A silo is a directory of objects named by their git ids: objects/xx/<38 hex>.gz and pack/*.pack + .idx.
STORE below may also be a git repository (work tree, bare repository or .git directory).
`;

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(programHelp('silo', INTRO, COMMANDS));
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

await runCli('silo', main);
