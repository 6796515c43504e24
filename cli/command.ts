// A subcommand of `medo` or `silo`: its own file under cli/<program>/, registered in the program's table
// with its name and summary, and loaded only when it is asked for.
import { EXIT_OK, EXIT_USAGE, usage } from './run.js';

export interface Command {
  name: string;
  /** Full text for `<program> <command> --help`. */
  help: string;
  /** Returns the exit code (cli/run.ts). */
  run(args: string[]): Promise<number> | number;
}

/** A program's table entry for a command. */
export interface CommandEntry {
  name: string;
  /** Other names it answers to (e.g. `sync` for `expand`). */
  aliases?: string[];
  /** One line for the program's --help. */
  summary: string;
  /** Imports the command's module: a run loads only the modules its own command needs. */
  load(): Promise<Command>;
}

export function findCommand(commands: readonly CommandEntry[], name: string): CommandEntry | undefined {
  return commands.find((c) => c.name === name || c.aliases?.includes(name));
}

export function programHelp(program: string, intro: string, commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8) + 2;
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return `${intro}\nCommands:\n${lines.join('\n')}\n\nRun '${program} <command> --help' for a command's options.\n` +
    'Exit status: 0 success, 1 a check found problems, 2 bad usage, 3 failure (docs/cli.md).\n';
}

/** A program's main: help, dispatch to the named command, or a usage error. Returns the exit code. */
export async function dispatch(program: string, intro: string, commands: readonly CommandEntry[], argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(programHelp(program, intro, commands));
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const entry = findCommand(commands, name);
  if (entry === undefined) return usage(`unknown command ${JSON.stringify(name)}`);
  const command = await entry.load();
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.help);
    return EXIT_OK;
  }
  return command.run(args);
}
