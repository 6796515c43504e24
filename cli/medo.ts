// `medo`: the user's front-end for medo directories. Verbs arrive with their issues; --help lists only
// what exists.
import { EXIT_OK, runCli, usage } from './run.js';

const HELP = `usage: medo <command> [options]

medo names large directory trees from git (.treeptr files in a *.medo directory) and keeps their
contents in silos. This version has the object layer only: use 'silo' (silo --help) to create, check
and read silos and git object stores. The medo verbs (add, expand, verify, url-for, reachable, mount)
are not in this version yet.
`;

async function main(): Promise<number> {
  const [command] = process.argv.slice(2);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : EXIT_OK;
  }
  return usage(`unknown command ${JSON.stringify(command)}`);
}

await runCli('medo', main);
