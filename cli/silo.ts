// `silo`: create, check and read silos. Each subcommand is a thin front-end over lib/.
import { EXIT_OK, EXIT_PROBLEMS, parse, runCli, usage } from './run.js';
import { catFileBatch, mustRead, prettyPrint } from './silo/cat-file.js';
import { lsTree } from './silo/ls-tree.js';
import { formatReport } from './silo/verify.js';
import { openStore } from '../lib/open-store.js';
import { Silo } from '../lib/silo/silo.js';
import { verifySilo } from '../lib/silo/verify-silo.js';

const HELP = `usage: silo <command> [options]

Commands:
  init DIR                   create a silo (medo-silo.json, objects/, pack/, derived/); harmless on an existing one
  verify [--json] DIR        re-hash every object, check pack trailers and index CRCs; exit 1 naming each bad object
  cat-file --batch STORE     read object ids on stdin, answer as 'git cat-file --batch' does
  cat-file (-p|-t|-s) STORE ID
                             print an object (trees as ls-tree lines), its type, or its size, as git does
  ls-tree [-r] [-t] STORE ID list a tree (or a commit's tree) as 'git ls-tree' does

STORE is a silo or a git repository (work tree, bare repository or .git directory).
Exit status: 0 success, 1 verify found problems, 2 bad usage, 3 failure (see docs/cli.md).
`;

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const positionals = (args: string[], n: number, what: string): string[] => {
    if (args.length !== n) usage(`${command} takes ${what}`);
    return args;
  };
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? 2 : EXIT_OK;
    case 'init': {
      const { positionals: args } = parse({ args: rest, allowPositionals: true, options: {} });
      const [dir] = positionals(args, 1, 'one directory');
      Silo.init(dir!).close();
      process.stdout.write(`initialized silo ${dir}\n`);
      return EXIT_OK;
    }
    case 'verify': {
      const { values, positionals: args } = parse({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' } } });
      const [dir] = positionals(args, 1, 'one silo directory');
      const report = verifySilo(dir!);
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      return report.ok ? EXIT_OK : EXIT_PROBLEMS;
    }
    case 'cat-file': {
      const { values, positionals: args } = parse({
        args: rest,
        allowPositionals: true,
        options: { batch: { type: 'boolean' }, p: { type: 'boolean', short: 'p' }, t: { type: 'boolean', short: 't' }, s: { type: 'boolean', short: 's' } },
      });
      const modes = [values.batch, values.p, values.t, values.s].filter(Boolean).length;
      if (modes !== 1) usage('cat-file takes exactly one of --batch, -p, -t, -s');
      if (values.batch) {
        const [storePath] = positionals(args, 1, '--batch STORE');
        const store = openStore(storePath!);
        try {
          await catFileBatch(store, process.stdin, process.stdout);
        } finally {
          store.close();
        }
        return EXIT_OK;
      }
      const [storePath, oid] = positionals(args, 2, 'STORE ID');
      const store = openStore(storePath!);
      try {
        const o = mustRead(store, oid!);
        process.stdout.write(values.t ? `${o.type}\n` : values.s ? `${o.content.length}\n` : prettyPrint(o, oid!));
      } finally {
        store.close();
      }
      return EXIT_OK;
    }
    case 'ls-tree': {
      const { values, positionals: args } = parse({
        args: rest,
        allowPositionals: true,
        options: { r: { type: 'boolean', short: 'r' }, t: { type: 'boolean', short: 't' } },
      });
      const [storePath, oid] = positionals(args, 2, 'STORE ID');
      const store = openStore(storePath!);
      try {
        let chunk = '';
        for (const line of lsTree(store, oid!, { recursive: values.r ?? false, showTrees: values.t ?? false })) {
          chunk += line;
          if (chunk.length > 1 << 16) {
            process.stdout.write(chunk);
            chunk = '';
          }
        }
        process.stdout.write(chunk);
      } finally {
        store.close();
      }
      return EXIT_OK;
    }
    default:
      return usage(`unknown command ${JSON.stringify(command)}`);
  }
}

await runCli('silo', main);
