// `silo`: create, check and read silos. Each subcommand is a file in cli/silo/, listed here.
import { dispatch, type Command } from './command.js';
import { runCli } from './run.js';
import { catFileCommand } from './silo/cat-file.js';
import { gcCommand } from './silo/gc.js';
import { initCommand } from './silo/init.js';
import { lsTreeCommand } from './silo/ls-tree.js';
import { repackCommand } from './silo/repack.js';
import { verifyCommand } from './silo/verify.js';
import { publishCommand } from './silo/publish.js';

const COMMANDS: Command[] = [initCommand, verifyCommand, catFileCommand, lsTreeCommand, gcCommand, repackCommand, publishCommand];

const INTRO = `usage: silo <command> [options]

A silo is a directory of objects named by their git ids: objects/xx/<38 hex>.gz and pack/*.pack + .idx.
STORE below may also be a git repository (work tree, bare repository or .git directory).
`;

await runCli('silo', () => dispatch('silo', INTRO, COMMANDS, process.argv.slice(2)));
