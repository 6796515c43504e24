// `silo send SRC DEST`: copy into another silo exactly the objects it lacks of a set (a keep list, or what
// some .treeptrs need), as git's send-pack does for refs. The far side is `silo receive` (receive.ts),
// run as a child process for a local DEST or over ssh for ssh://[user@]host[:port]/path, speaking the send
// protocol (wire.ts) on its stdin and stdout:
//
//   receiver: hello            sender: hello, want... want-end (every id of the set)
//   receiver: need... need-end (the ids it lacks)
//   sender:   done             (nothing lacking)    or   pack {packBytes, idxBytes, objects} + the bytes
//   receiver: ok {objects, pack} | error {code, message}
//
// The pack holds exactly the objects asked for. An entry the source stores as a delta whose base is
// either in the pack too or one the receiver said it has goes as that delta, its zlib data copied as it
// is (OFS_DELTA when the base is earlier in the pack, REF_DELTA otherwise: a thin pack, which a silo
// reads with its bases from the silo's other files); everything else goes whole. The receiver checks all
// of it before anything becomes visible.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { MedoError } from '../errors.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA } from '../git/pack-entry.js';
import type { PackFile } from '../git/pack-file.js';
import { PackWriter } from '../git/pack-writer.js';
import { isOid, oidFromBytes } from '../oid.js';
import { packEntries } from './inventory.js';
import { copyLoose, copyPackEntry } from './pack-rewrite.js';
import { Silo } from './silo.js';
import { SEND_PROTOCOL, SEND_VERSION, WireReader, WireWriter, peerError, readIds } from './wire.js';

export type SendStage = 'negotiate' | 'pack' | 'send';

export interface SendOptions {
  /** Names the receiver in messages ("the receiver at ssh://host/path"). */
  peer?: string;
  onProgress?: (stage: SendStage, done: number, total: number) => void;
  /** Where the pack is written before it is sent (default: the system's temp directory). */
  tmpDir?: string;
}

export interface SendReport {
  src: string;
  /** Ids offered: the set to copy. */
  offered: number;
  /** Of those, the ones the receiver lacked. */
  needed: number;
  /** Objects sent, and how many of them went as deltas. */
  objects: number;
  deltas: number;
  /** Bytes of pack and index sent. */
  packBytes: number;
  idxBytes: number;
  /** The pack's name in the destination, when one was sent. */
  pack?: string;
  /** Whether the receiver created the destination silo. */
  created: boolean;
}

const CHUNK = 1 << 20;

/** Sends the objects of `wanted` (ids `src` holds) that the receiver on `input`/`output` lacks. */
export async function send(srcDir: string, wanted: readonly string[], input: Readable, output: Writable, options: SendOptions = {}): Promise<SendReport> {
  const peer = options.peer ?? 'the receiver';
  const r = new WireReader(input, peer);
  const w = new WireWriter(output, peer);
  const silo = Silo.open(srcDir);
  let tmp: string | undefined;
  try {
    const hello = await r.message('"hello"');
    if (hello.op === 'error') throw peerError(peer, hello);
    if (hello.op !== 'hello' || hello.protocol !== SEND_PROTOCOL) throw new MedoError('ERR_PROTOCOL', `${peer} does not speak ${SEND_PROTOCOL}: is 'silo receive' the command it ran?`, { path: peer });
    if (hello.version !== SEND_VERSION) throw new MedoError('ERR_PROTOCOL', `${peer} speaks ${SEND_PROTOCOL} version ${String(hello.version)}; this silo send speaks ${SEND_VERSION}`, { path: peer });
    await w.send({ op: 'hello', protocol: SEND_PROTOCOL, version: SEND_VERSION });
    options.onProgress?.('negotiate', 0, wanted.length);
    await w.sendIds('want', 'want-end', wanted);
    const offered = new Set(wanted);
    const need = await readIds(r, 'need', 'need-end', offered.size, (id) => isOid(id) && offered.has(id));
    options.onProgress?.('negotiate', wanted.length, wanted.length);
    const report: SendReport = { src: silo.path, offered: offered.size, needed: need.length, objects: 0, deltas: 0, packBytes: 0, idxBytes: 0, created: false };
    if (need.length === 0) {
      await w.send({ op: 'done' });
    } else {
      tmp = mkdtempSync(join(options.tmpDir ?? tmpdir(), 'medo-send-'));
      const built = buildPack(silo, need, offered, tmp, (n) => options.onProgress?.('pack', n, need.length));
      report.objects = built.objects;
      report.deltas = built.deltas;
      report.packBytes = statSync(built.packPath).size;
      report.idxBytes = statSync(built.idxPath).size;
      await w.send({ op: 'pack', packBytes: report.packBytes, idxBytes: report.idxBytes, objects: built.objects });
      let sent = 0;
      const total = report.packBytes + report.idxBytes;
      for (const path of [built.packPath, built.idxPath]) {
        await streamFile(path, w, (n) => {
          sent += n;
          options.onProgress?.('send', sent, total);
        });
      }
    }
    const reply = await r.message('"ok" or "error"');
    if (reply.op === 'error') throw peerError(peer, reply);
    if (reply.op !== 'ok') throw new MedoError('ERR_PROTOCOL', `${peer} answered "${reply.op}" where "ok" was expected`, { path: peer });
    if (reply.objects !== report.objects) throw new MedoError('ERR_PROTOCOL', `${peer} says it stored ${String(reply.objects)} objects; ${report.objects} were sent`, { path: peer });
    if (typeof reply.pack === 'string') report.pack = reply.pack;
    report.created = reply.created === true;
    return report;
  } finally {
    silo.close();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  }
}

async function streamFile(path: string, w: WireWriter, onSent: (n: number) => void): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    for (let pos = 0; ;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const n = readSync(fd, buf, 0, CHUNK, pos);
      if (n === 0) return;
      await w.write(buf.subarray(0, n));
      pos += n;
      onSent(n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Entry offsets of a pack mapped to ids, and each entry's length: built once per pack that is sent from. */
interface PackMap {
  oidAt: Map<number, string>;
  lengthAt: Map<number, number>;
}

/**
 * Writes into `dir` a pack of exactly `need`, deltas kept where their bases go too or the receiver has
 * them (`offered` minus `need`). Returns its paths, its object count and how many are deltas.
 */
export function buildPack(silo: Silo, need: readonly string[], offered: ReadonlySet<string>, dir: string, onObject?: (n: number) => void):
  { packPath: string; idxPath: string; objects: number; deltas: number } {
  const needSet = new Set(need);
  // Where each object is: packed ones in pack order (bases before their OFS deltas), loose ones after.
  silo.packs.rescan();
  const packed: { pack: PackFile; offset: number; oid: string }[] = [];
  const loose: string[] = [];
  for (const oid of need) {
    const hit = silo.packs.find(Buffer.from(oid, 'hex'));
    if (hit !== undefined) packed.push({ pack: hit.pack, offset: hit.offset, oid });
    else if (existsSync(silo.loose.path(silo.path, oid))) loose.push(oid);
    else throw new MedoError('ERR_OBJECT_MISSING', `${silo.path} does not hold ${oid}, which was to be sent`, { oid, path: silo.path });
  }
  // A delta keeps its base if the receiver has the base, or if the base goes in this pack from the same
  // source pack (whose own chains cannot loop). A base from another source file could be stored there as
  // a delta of this very object: that one goes whole, so the pack never holds a cycle.
  const sourceOf = new Map<string, PackFile>();
  for (const p of packed) sourceOf.set(p.oid, p.pack);
  const usable = (base: string, from: PackFile): boolean => (needSet.has(base) ? sourceOf.get(base) === from : offered.has(base));
  const order = new Map<PackFile, number>();
  for (const p of packed) if (!order.has(p.pack)) order.set(p.pack, order.size);
  packed.sort((a, b) => order.get(a.pack)! - order.get(b.pack)! || a.offset - b.offset);
  const maps = new Map<PackFile, PackMap>();
  const mapOf = (pack: PackFile): PackMap => {
    let m = maps.get(pack);
    if (m === undefined) {
      m = { oidAt: new Map(), lengthAt: new Map() };
      for (const e of packEntries(pack)) {
        m.oidAt.set(e.offset, e.oid);
        m.lengthAt.set(e.offset, e.length);
      }
      maps.set(pack, m);
    }
    return m;
  };
  const writer = new PackWriter(dir);
  let deltas = 0;
  let done = 0;
  try {
    for (const { pack, offset, oid } of packed) {
      const map = mapOf(pack);
      const length = map.lengthAt.get(offset)!;
      const h = pack.entryHeader(offset);
      const base = h.typeCode === OBJ_OFS_DELTA ? map.oidAt.get(h.baseOffset!) : h.typeCode === OBJ_REF_DELTA ? oidFromBytes(h.baseOid!) : undefined;
      if (base !== undefined && usable(base, pack)) {
        writer.addDeltaCompressed(oid, base, h.size, pack.pack.read(offset + h.headerLength, length - h.headerLength));
        deltas++;
      } else {
        copyPackEntry(writer, silo, pack, { oid, offset, length });
      }
      onObject?.(++done);
    }
    for (const oid of loose) {
      copyLoose(writer, silo, oid);
      onObject?.(++done);
    }
  } catch (e) {
    writer.abort();
    throw e;
  }
  const written = writer.finish()!;
  return { packPath: written.packPath, idxPath: written.idxPath, objects: written.objectCount, deltas };
}

/** Where `silo send` sends to. */
export type Destination =
  | { kind: 'local'; path: string }
  | { kind: 'ssh'; host: string; user?: string; port?: number; path: string };

/** Parses DEST: ssh://[user@]host[:port]/path, or a local path. */
export function parseDestination(spec: string): Destination {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) return { kind: 'local', path: spec };
  const fail = (why: string): never => {
    throw new MedoError('ERR_USAGE', `${spec}: ${why} (expected ssh://[user@]host[:port]/path or a local path)`);
  };
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return fail('not a valid URL');
  }
  if (url.protocol !== 'ssh:') fail(`${url.protocol.slice(0, -1)} is not a scheme silo send speaks`);
  if (url.hostname === '') fail('no host');
  if (url.password !== '') fail('a password does not belong in the URL; ssh asks for it or uses a key');
  const path = decodeURIComponent(url.pathname);
  if (path === '' || path === '/') fail('no path');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host.startsWith('-')) fail('a host name cannot start with "-"');
  return { kind: 'ssh', host, path, ...(url.username === '' ? {} : { user: decodeURIComponent(url.username) }), ...(url.port === '' ? {} : { port: Number(url.port) }) };
}

/** Quotes `s` for a POSIX shell (the far side of ssh runs the command through one). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-./=:@%+,]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface ReceiverOptions {
  /** argv that runs `silo` here, for a local destination ([node, bin/silo.js]). */
  localSilo: readonly string[];
  /** The command the far side runs (default 'silo receive'), before the quoted path. */
  receiver?: string;
  /** The ssh client: a command line run by the shell (MEDO_SSH_COMMAND), default plain 'ssh'. */
  sshCommand?: string;
  /** More environment for the receiver (a local one: the test hook MEDO_TEST_RECEIVE_DIE_AT). */
  env?: NodeJS.ProcessEnv;
}

/** Starts `silo receive` for `dest`: a child here, or ssh running it on the far host. */
export function spawnReceiver(dest: Destination, options: ReceiverOptions): ChildProcess {
  const stdio: ['pipe', 'pipe', 'inherit'] = ['pipe', 'pipe', 'inherit'];
  const env = { ...process.env, ...options.env };
  if (dest.kind === 'local') {
    if (options.receiver !== undefined) {
      return spawn('sh', ['-c', `${options.receiver} ${shellQuote(dest.path)}`], { stdio, env });
    }
    const [cmd, ...args] = options.localSilo;
    return spawn(cmd!, [...args, 'receive', dest.path], { stdio, env });
  }
  const target = dest.user === undefined ? dest.host : `${dest.user}@${dest.host}`;
  const remote = `${options.receiver ?? 'silo receive'} ${shellQuote(dest.path)}`;
  const sshArgs = [...(dest.port === undefined ? [] : ['-p', String(dest.port)]), '--', target, remote];
  if (options.sshCommand !== undefined && options.sshCommand.trim() !== '') {
    return spawn('sh', ['-c', `${options.sshCommand} "$@"`, 'medo-ssh', ...sshArgs], { stdio, env });
  }
  return spawn('ssh', sshArgs, { stdio, env });
}

/** How a child ended, for messages: "exit 3", "killed by SIGKILL". */
export function waitExit(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(`exit ${child.exitCode}`);
    else if (child.signalCode !== null) resolve(`killed by ${child.signalCode}`);
    else child.once('exit', (code, signal) => resolve(signal !== null ? `killed by ${signal}` : `exit ${code}`));
  });
}

/** The name a destination goes by in messages. */
export function describeDestination(d: Destination): string {
  return d.kind === 'local' ? d.path : `ssh://${d.user === undefined ? '' : `${d.user}@`}${d.host}${d.port === undefined ? '' : `:${d.port}`}${d.path}`;
}
