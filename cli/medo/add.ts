// `medo add SRC OUT.treeptr`: a directory, a tarball or (with --blob) any file into a silo.
import { readFileSync } from 'node:fs';
import { MedoError } from '../../lib/errors.js';
import { parseBuiltFrom } from '../../lib/medo/ingest/built-from.js';
import { medoAdd } from '../../lib/medo/ingest/add.js';
import type { BuiltFrom } from '../../lib/medo/treeptr.js';
import type { Command } from '../command.js';
import { Progress, formatBytes } from '../progress.js';
import { EXIT_OK, parse, usage } from '../run.js';


function builtFromFlags(values: { input?: string[]; base?: string; command?: string; env?: string[] }): BuiltFrom | undefined {
  const b: BuiltFrom = {};
  if (values.input !== undefined) b.inputs = values.input;
  if (values.base !== undefined) b.base = values.base;
  if (values.command !== undefined) b.command = values.command;
  if (values.env !== undefined) {
    b.env = {};
    for (const kv of values.env) {
      const eq = kv.indexOf('=');
      if (eq <= 0) usage(`--env takes NAME=VALUE, not ${JSON.stringify(kv)}`);
      b.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return Object.keys(b).length > 0 ? b : undefined;
}

export const addCommand: Command = {
  name: 'add',
  help: `usage: medo add SRC OUT.treeptr [options]

Stores SRC in a silo and writes OUT.treeptr, a small JSON pointer to it (docs/formats.md). OUT's medo
directory is the nearest directory at or above it with a SILO.json; objects go to the first writable
local silo it lists, or to --silo DIR. Missing directories above OUT are created.

SRC may be:
  a directory   stored as a git tree: its id is what 'git add -A && git write-tree' gives for the same
                directory. Permission bits, mtimes (with nanoseconds) and empty directories go into a
                metadata sidecar named by the .treeptr's "meta". Symlinks stay symlinks; hard links are
                stored as identical content. Devices, sockets and fifos are refused (see --skip-special);
                so are file names that are not valid UTF-8.
  a tarball     .tar, .tar.gz/.tgz, .tar.xz or .tar.zst (recognized by content): imported as a tree
                straight from the stream, never extracted; the result is the same as adding the
                directory 'tar -x --same-permissions' would make.
  any file      with --blob: kept byte for byte as one loose object (objects/xx/<id>.gz in the silo, so
                'curl URL | gunzip' gives the file back).

Objects the silo already holds are not written again: re-adding an unchanged tree writes nothing and
leaves OUT.treeptr byte for byte the same. New objects go into one new pack per add.

A new version is stored as differences from an earlier one: each new file is written as a delta
(a REF_DELTA in the pack) against the file at the same path in the delta base, when the delta is under
half the file. The delta base is --delta-base TREEPTR, or else found by itself: OUT itself when it
already names a tree, else the .treeptr beside OUT whose name comes just before OUT's in natural order
(3.10.4 before 3.10.5, 3.9 before 3.10), else just after. Its tree must be in the silo. 'silo repack'
later folds such packs into one self-contained delta pack.

Options:
  --url URL           record where SRC came from (source.url); for a file, its sha256 is recorded too
  --sha256 HEX        a file's expected sha256: the add is refused on a mismatch (recorded as source.sha256)
  --built-from FILE   provenance of a derived tree: a JSON file {"inputs": [...], "base": "...",
                      "command": "...", "env": {...}} (or give the fields as the options below)
  --input X           an input it was built from (repeatable)
  --base X            the base layer or image it was built in
  --command CMD       the command that built it
  --env NAME=VALUE    an environment variable of the build (repeatable)
  --blob              keep SRC (a file) as one opaque blob instead of a tree
  --silo DIR          write to this silo instead of the first writable one in SILO.json
  --skip-special      skip devices, sockets and fifos with a warning instead of refusing them
  --threads N         worker threads for hashing and compressing (default: the number of CPUs; 0: none)
  --delta-base TREEPTR  deltify against this earlier version (its tree must be in the silo)
  --no-delta-base     store every new file whole

Progress is shown on a terminal; a summary line is printed at the end.
Exit status: 0 success, 2 bad usage, 3 the add failed (nothing is written then).
`,
  async run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        sha256: { type: 'string' },
        'built-from': { type: 'string' },
        input: { type: 'string', multiple: true },
        base: { type: 'string' },
        command: { type: 'string' },
        env: { type: 'string', multiple: true },
        blob: { type: 'boolean' },
        silo: { type: 'string' },
        'skip-special': { type: 'boolean' },
        threads: { type: 'string' },
        'delta-base': { type: 'string' },
        'no-delta-base': { type: 'boolean' },
      },
    });
    if (positionals.length !== 2) usage('add takes SRC and OUT.treeptr');
    if (values['delta-base'] !== undefined && values['no-delta-base'] === true) usage('give --delta-base TREEPTR or --no-delta-base, not both');
    const [src, out] = positionals as [string, string];
    let builtFrom = builtFromFlags(values);
    if (values['built-from'] !== undefined) {
      if (builtFrom !== undefined) usage('give --built-from FILE or --input/--base/--command/--env, not both');
      const file = values['built-from'];
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new MedoError('ERR_USAGE', `--built-from: cannot read ${file}: ${(e as Error).message}`);
      }
      builtFrom = parseBuiltFrom(text, file);
    }
    let threads: number | undefined;
    if (values.threads !== undefined) {
      threads = Number(values.threads);
      if (!/^[0-9]+$/.test(values.threads) || threads > 1024) usage(`--threads takes a whole number, not ${JSON.stringify(values.threads)}`);
    }

    const progress = new Progress('add');
    let report;
    try {
      report = await medoAdd({
        src, out, builtFrom, threads,
        ...(values['no-delta-base'] === true ? { deltaBase: false as const } : values['delta-base'] === undefined ? {} : { deltaBase: values['delta-base'] }),
        blob: values.blob, silo: values.silo, url: values.url, sha256: values.sha256, skipSpecial: values['skip-special'],
        onProgress: (bytes) => progress.tick(bytes),
        onWarning: (message) => {
          progress.done();
          process.stderr.write(`medo add: warning: ${message}\n`);
        },
      });
    } finally {
      progress.done();
    }
    const what = report.tree !== undefined ? `tree ${report.tree}` : `blob ${report.blob}`;
    const files = `${report.files} file${report.files === 1 ? '' : 's'}`;
    const deltas = report.deltaBase === undefined || !report.deltas ? '' : ` (${report.deltas} as deltas against ${report.deltaBase})`;
    const objects = `${report.objectsWritten} new object${report.objectsWritten === 1 ? '' : 's'}${deltas}`;
    process.stdout.write(`${what}: ${files}, ${formatBytes(report.size)}, ${objects}; ${out} ${report.changed ? 'written' : 'unchanged'}\n`);
    return EXIT_OK;
  },
};
