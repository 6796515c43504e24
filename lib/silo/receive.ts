// `silo receive DEST`: the far side of `silo send`, as git's receive-pack is of send-pack. It speaks the
// send protocol (wire.ts, docs/formats.md) on stdin and stdout: it says hello, hears the ids the sender
// offers, answers with those DEST lacks, and takes a pack of exactly those.
//
// Nothing the sender says is trusted. Ids must be ids; the pack is written under a temp name in pack/
// and checked as `git verify-pack` would (both trailers, the index's order, every entry's CRC32, every
// object resolved -- its delta bases in the pack or already in DEST -- and hashed against its id), and it
// must hold exactly the objects asked for, no more and no fewer. Only then is it renamed into place (.pack
// before .idx) and the pack list rewritten, last. A sender that lies, a connection that drops and an
// error of our own all leave DEST as it was; a receiver killed outright leaves at most a temp file, which
// `silo verify` reports as a stray and the next `silo gc --prune` clears.
//
// A receive counts as a running add (locks/add-*.lock): a `silo gc --prune` beside it spares what it
// writes, and the objects it tells the sender it has are freshened, so a prune cannot take them away from
// under the thin pack that will name them as delta bases.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { MedoError, isMedoError } from '../errors.js';
import { PackFile } from '../git/pack-file.js';
import { verifyPack } from '../git/verify-pack.js';
import { TEMP_PREFIX, fsyncDir, writeAll } from '../io/atomic-write.js';
import { OID_BYTES, isOid, oidFromBytes } from '../oid.js';
import { holdsFresh } from './freshen.js';
import { announceAdd } from './lock.js';
import { writePackList } from './pack-list.js';
import { Silo, isSilo } from './silo.js';
import { SEND_PROTOCOL, SEND_VERSION, WireReader, WireWriter, readIds, type Message } from './wire.js';

/** Ids a sender may offer in one session. */
export const MAX_WANTED = 50_000_000;

export interface ReceiveOptions {
  /** Names the sender in errors (default "the sender"). */
  peer?: string;
  /** Called as pack bytes arrive, with the total so far. */
  onBytes?: (received: number, total: number) => void;
  /**
   * A test hook (MEDO_TEST_RECEIVE_DIE_AT): once this many pack bytes have arrived, the process kills
   * itself with SIGKILL, as a crash or an OOM kill would.
   */
  dieAtBytes?: number;
}

export interface ReceiveReport {
  silo: string;
  /** Whether DEST was created by this receive. */
  created: boolean;
  /** Ids the sender offered. */
  offered: number;
  /** Of those, the ones DEST lacked and asked for. */
  needed: number;
  /** Objects received (equal to `needed` when it succeeded). */
  objects: number;
  packBytes: number;
  /** The pack now in DEST's pack/, when one came. */
  pack?: string;
}

function lie(peer: string, why: string): MedoError {
  return new MedoError('ERR_PROTOCOL', `${peer}: ${why}`, { path: peer });
}

function openOrCreate(dest: string): { silo: Silo; created: boolean } {
  if (isSilo(dest)) return { silo: Silo.open(dest), created: false };
  let entries: string[] | undefined;
  try {
    entries = readdirSync(dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (entries !== undefined && entries.length > 0) {
    throw new MedoError('ERR_STORE_NOT_FOUND', `${dest} is not a silo and not empty: refusing to receive into it`, { path: dest });
  }
  return { silo: Silo.init(dest), created: true };
}

/** The size a v2 index of `n` objects has: from no 64-bit offsets to one per object. */
export function idxBytesRange(n: number): [number, number] {
  const min = 8 + 1024 + n * (OID_BYTES + 8) + 2 * OID_BYTES;
  return [min, min + 8 * n];
}

export async function receive(dest: string, input: Readable, output: Writable, options: ReceiveOptions = {}): Promise<ReceiveReport> {
  const peer = options.peer ?? 'the sender';
  const r = new WireReader(input, peer);
  const w = new WireWriter(output, peer);
  let silo: Silo | undefined;
  const temps: string[] = [];
  try {
    const opened = openOrCreate(dest);
    silo = opened.silo;
    const lock = announceAdd(silo.path, `silo receive ${silo.path}`);
    try {
      await w.send({ op: 'hello', protocol: SEND_PROTOCOL, version: SEND_VERSION });
      const hello = await r.message('"hello"');
      if (hello.op !== 'hello' || hello.protocol !== SEND_PROTOCOL) throw lie(peer, `does not speak ${SEND_PROTOCOL} (it sent ${JSON.stringify(hello).slice(0, 120)})`);
      if (hello.version !== SEND_VERSION) throw lie(peer, `speaks ${SEND_PROTOCOL} version ${String(hello.version)}; this silo receive speaks ${SEND_VERSION}`);
      const offered = await readIds(r, 'want', 'want-end', MAX_WANTED, isOid);
      silo.packs.rescan();
      const needSet = new Set<string>();
      for (const oid of offered) if (!needSet.has(oid) && !holdsFresh(silo, oid)) needSet.add(oid);
      const need = [...needSet].sort();
      await w.sendIds('need', 'need-end', need);
      const report: ReceiveReport = { silo: silo.path, created: opened.created, offered: offered.length, needed: need.length, objects: 0, packBytes: 0 };
      const m = await r.message('"pack" or "done"');
      if (m.op === 'error') throw new MedoError('ERR_PROTOCOL', `${peer} gave up: ${String(m.message)}`, { path: peer });
      if (m.op === 'done') {
        if (need.length > 0) throw lie(peer, `said "done" without sending the ${need.length} objects asked for`);
      } else if (m.op === 'pack') {
        if (need.length === 0) throw lie(peer, 'sent a pack although nothing was asked for');
        const installed = await takePack(silo, r, m, needSet, peer, temps, options);
        report.objects = need.length;
        report.packBytes = installed.packBytes;
        report.pack = installed.name;
      } else {
        throw lie(peer, `sent "${m.op}" where "pack" or "done" was expected`);
      }
      await w.send({ op: 'ok', created: report.created, objects: report.objects, packBytes: report.packBytes, ...(report.pack === undefined ? {} : { pack: report.pack }) });
      return report;
    } finally {
      lock.release();
    }
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    const code = isMedoError(e) ? e.code : 'ERR_INTERNAL';
    await w.send({ op: 'error', code, message: (e as Error).message }).catch(() => undefined);
    throw e;
  } finally {
    silo?.close();
    // Nothing more is read: a sender still writing gets EPIPE, and this process can exit.
    input.destroy();
  }
}

async function takePack(silo: Silo, r: WireReader, m: Message, need: ReadonlySet<string>, peer: string, temps: string[],
  options: ReceiveOptions): Promise<{ name: string; packBytes: number }> {
  const { packBytes, idxBytes, objects } = m;
  if (objects !== need.size) throw lie(peer, `announced a pack of ${String(objects)} objects; ${need.size} were asked for`);
  const [minIdx, maxIdx] = idxBytesRange(need.size);
  if (typeof idxBytes !== 'number' || !Number.isSafeInteger(idxBytes) || idxBytes < minIdx || idxBytes > maxIdx) {
    throw lie(peer, `announced an index of ${String(idxBytes)} bytes; one of ${need.size} objects has ${minIdx} to ${maxIdx}`);
  }
  if (typeof packBytes !== 'number' || !Number.isSafeInteger(packBytes) || packBytes < 12 + OID_BYTES + need.size * 2) {
    throw lie(peer, `announced a pack of ${String(packBytes)} bytes, too few for ${need.size} objects`);
  }
  const packDir = join(silo.path, 'pack');
  const base = join(packDir, `${TEMP_PREFIX}receive-${process.pid}-${randomBytes(4).toString('hex')}`);
  const [tmpPack, tmpIdx] = [`${base}.pack`, `${base}.idx`];
  temps.push(tmpPack, tmpIdx);
  for (const [path, bytes, what] of [[tmpPack, packBytes, 'the pack'], [tmpIdx, idxBytes, 'the pack index']] as const) {
    const fd = openSync(path, 'wx', 0o444);
    try {
      let got = 0;
      await r.bytes(bytes, what, (chunk) => {
        writeAll(fd, chunk);
        got += chunk.length;
        if (path === tmpPack) {
          options.onBytes?.(got, bytes);
          if (options.dieAtBytes !== undefined && got >= options.dieAtBytes) process.kill(process.pid, 'SIGKILL');
        }
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  let pack: PackFile;
  try {
    pack = PackFile.open(tmpPack);
  } catch (e) {
    throw lie(peer, `sent a pack that is not one: ${(e as Error).message}`);
  }
  let name: string;
  try {
    if (pack.index.count !== need.size) throw lie(peer, `sent a pack of ${pack.index.count} objects; ${need.size} were asked for; nothing was stored`);
    const { problems } = verifyPack(pack, undefined, silo.external);
    if (problems.length > 0) {
      const shown = problems.slice(0, 5).map((p) => `${p.oid ?? ''}${p.offset === undefined ? '' : ` at offset ${p.offset}`}: ${p.message}`.trim());
      throw new MedoError('ERR_PACK_CORRUPT', `${peer} sent a pack that fails its checks (${problems.length} problem(s)): ${shown.join('; ')}; nothing was stored`,
        { path: peer, ...(problems[0]!.oid === undefined ? {} : { oid: problems[0]!.oid }) });
    }
    for (let i = 0; i < pack.index.count; i++) {
      const oid = oidFromBytes(pack.index.oidAt(i));
      if (!need.has(oid)) throw lie(peer, `sent a pack holding ${oid}, which was not asked for; nothing was stored`);
    }
    // Sorted and distinct (verifyPack checked the order) and as many as asked for: exactly the ids asked for.
    name = `pack-${pack.index.packChecksum.toString('hex')}`;
  } finally {
    pack.close();
  }
  const [finalPack, finalIdx] = [join(packDir, `${name}.pack`), join(packDir, `${name}.idx`)];
  if (existsSync(finalIdx)) {
    unlinkSync(tmpPack);
    unlinkSync(tmpIdx);
  } else {
    // .pack before .idx: a reader that sees the index always finds its pack (lib/git/pack-set.ts).
    renameSync(tmpPack, finalPack);
    renameSync(tmpIdx, finalIdx);
    fsyncDir(packDir);
  }
  temps.length = 0;
  writePackList(silo.path);
  return { name, packBytes };
}
