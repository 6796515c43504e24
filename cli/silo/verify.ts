// `silo verify` output: one line per problem naming the object and where it is, then a summary.
import { verifySilo, type SiloReport } from '../../lib/silo/verify-silo.js';
import type { Command } from '../command.js';
import { EXIT_OK, EXIT_PROBLEMS, parse, usage } from '../run.js';

export function formatReport(r: SiloReport): string {
  const lines: string[] = [];
  for (const p of r.problems) {
    const where = p.offset === undefined ? p.path : `${p.path} at offset ${p.offset}`;
    lines.push(`BAD ${p.oid ?? '-'} ${where}: ${p.message}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  const total = r.loose + r.packed;
  const summary = `${r.silo}: ${total} objects checked (${r.loose} loose, ${r.packed} in ${r.packs} packs)`;
  lines.push(r.ok ? `${summary}: OK` : `${summary}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

export const verifyCommand: Command = {
  name: 'verify',
  help: `usage: silo verify [--json] DIR

Re-hashes every loose and packed object of the silo DIR, checks each pack's and index's SHA-1 trailer
and each entry's CRC32. Prints one 'BAD <id> <file>: <what>' line per problem and exits 1 if there is
any. --json prints the report as JSON.
`,
  run(args) {
    const { values, positionals } = parse({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    if (positionals.length !== 1) usage('verify takes one silo directory');
    const report = verifySilo(positionals[0]!);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.ok ? EXIT_OK : EXIT_PROBLEMS;
  },
};
