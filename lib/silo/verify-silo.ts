// `silo verify`: re-hash every object of a silo, loose and packed, and check every pack's trailers and
// CRCs. Returns problems; it never stops at the first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackFile } from '../git/pack-file.js';
import { verifyPack, type Problem } from '../git/verify-pack.js';
import { TEMP_PREFIX } from '../io/atomic-write.js';
import { PACK_LIST, formatPackList, parsePackList, scanPacks, type PackListEntry } from './pack-list.js';
import { HEX2, LOOSE_NAME, list } from './inventory.js';
import { Silo } from './silo.js';

export type { Problem };

export interface SiloReport {
  silo: string;
  ok: boolean;
  loose: number;
  packed: number;
  packs: number;
  problems: Problem[];
  /** Things that are not corruption but deserve a look: leftover temp files, unknown files. */
  notes: string[];
}

export function verifySilo(dir: string, onObject?: () => void): SiloReport {
  const silo = Silo.open(dir);
  const report: SiloReport = { silo: dir, ok: true, loose: 0, packed: 0, packs: 0, problems: [], notes: [] };
  try {
    const objects = join(dir, 'objects');
    for (const sub of list(objects)) {
      if (!HEX2.test(sub)) {
        report.notes.push(`unexpected entry ${join(objects, sub)}`);
        continue;
      }
      for (const name of list(join(objects, sub))) {
        const path = join(objects, sub, name);
        if (!LOOSE_NAME.test(name)) {
          report.notes.push(name.startsWith(TEMP_PREFIX) ? `leftover temp file ${path}` : `unexpected file ${path}`);
          continue;
        }
        const oid = sub + name.slice(0, 38);
        report.loose++;
        try {
          silo.readLoose(oid);
        } catch (e) {
          report.problems.push({ path, oid, message: (e as Error).message.replace(`${path}: `, '') });
        }
        onObject?.();
      }
    }
    const packDir = join(dir, 'pack');
    const names = list(packDir);
    for (const name of names) {
      const path = join(packDir, name);
      if (name.startsWith(TEMP_PREFIX)) {
        report.notes.push(`leftover temp file ${path}`);
        continue;
      }
      if (name === 'packs') continue; // the pack list, checked below
      const m = /^(.*)\.(pack|idx)$/.exec(name);
      if (!m) {
        report.notes.push(`unexpected file ${path}`);
        continue;
      }
      const other = `${m[1]}.${m[2] === 'pack' ? 'idx' : 'pack'}`;
      if (!names.includes(other)) {
        report.problems.push({ path, message: `has no matching ${other}` });
        continue;
      }
      if (m[2] !== 'idx') continue;
      let pack: PackFile;
      try {
        pack = PackFile.open(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          report.notes.push(`${path} was removed while the silo was verified (a repack or prune at work)`);
          continue;
        }
        report.problems.push({ path, message: (e as Error).message });
        continue;
      }
      try {
        report.packs++;
        const r = verifyPack(pack, onObject, silo.external);
        report.packed += r.objects;
        report.problems.push(...r.problems);
      } finally {
        pack.close();
      }
    }
    checkPackList(dir, names.includes('packs'), report);
  } finally {
    silo.close();
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** pack/packs must list exactly the packs in place (static web servers cannot list pack/ for readers). */
function checkPackList(dir: string, present: boolean, report: SiloReport): void {
  const path = join(dir, PACK_LIST);
  const expected = scanPacks(dir);
  if (!present) {
    // Not corruption (a silo used only locally needs no list), but a web server would serve no packs.
    if (expected.length > 0) report.notes.push(`${path} is missing: served over HTTP, this silo shows no packs (run 'silo publish ${dir}')`);
    return;
  }
  const text = readFileSync(path, 'utf8');
  if (text === formatPackList(expected)) return;
  let listed: PackListEntry[];
  try {
    listed = parsePackList(text, path);
  } catch (e) {
    report.problems.push({ path, message: `${(e as Error).message.replace(`${path}: `, '')} (run 'silo publish ${dir}')` });
    return;
  }
  // A list that names a pack not in place (or not at its size) sends web readers to a 404 or a wrong
  // range: damage. One that only lacks packs is a writer at work, or one killed between renaming its
  // pack into place and listing it: nothing listed is unreadable, and the next writer lists the rest.
  const inPlace = new Map(expected.map((e) => [e.name, e]));
  const wrong = listed.filter((e) => {
    const have = inPlace.get(e.name);
    return have === undefined || have.packBytes !== e.packBytes || have.idxBytes !== e.idxBytes;
  });
  if (wrong.length > 0 || new Set(listed.map((e) => e.name)).size !== listed.length || formatPackList(listed) !== text) {
    report.problems.push({ path, message: `does not list exactly the packs in pack/ (run 'silo publish ${dir}')` });
    return;
  }
  const unlisted = expected.filter((e) => !listed.some((l) => l.name === e.name)).map((e) => e.name);
  report.notes.push(`${path} does not list ${unlisted.join(', ')} yet: web readers do not see ${unlisted.length === 1 ? 'it' : 'them'} (the next writer, or 'silo publish ${dir}', lists ${unlisted.length === 1 ? 'it' : 'them'})`);
}
