// `silo verify` output: one line per problem naming the object and where it is, then a summary.
import type { SiloReport } from '../../lib/silo/verify-silo.js';

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
