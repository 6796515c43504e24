// A subcommand of `medo` or `silo`: its own file under cli/<program>/, registered in the program's table.

export interface Command {
  name: string;
  /** Other names it answers to (e.g. `sync` for `expand`). */
  aliases?: string[];
  /** One line for the program's --help. */
  summary: string;
  /** Full text for `<program> <command> --help`. */
  help: string;
  /** Returns the exit code (cli/run.ts). */
  run(args: string[]): Promise<number> | number;
}

export function findCommand(commands: readonly Command[], name: string): Command | undefined {
  return commands.find((c) => c.name === name || c.aliases?.includes(name));
}

export function programHelp(program: string, intro: string, commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8) + 2;
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return `${intro}\nCommands:\n${lines.join('\n')}\n\nRun '${program} <command> --help' for a command's options.\n` +
    'Exit status: 0 success, 1 a check found problems, 2 bad usage, 3 failure (docs/cli.md).\n';
}
