// Seed corpora for the fuzz targets, made at run time from real data, never committed: git objects,
// packs and indexes from a repository of the project's own sources (two commits, repacked with deltas,
// both OFS_DELTA and REF_DELTA), tarballs from GNU tar (gnu, pax, ustar and v7 formats, a name over 100
// bytes, links), and the .treeptr, SILO.json, sidecar, silo objects and pack list that the project's own
// CLI writes (bin/medo.js add). Each target's seeds go in <dir>/<target>/, framed as the target reads them.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, linkSync, mkdirSync, readFileSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { deflateSync, gzipSync, inflateSync } from 'node:zlib';
import { encodeResponse } from '../../lib/daemon-protocol.js';
import { MedoError } from '../../lib/errors.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, parseEntryHeader } from '../../lib/git/pack-entry.js';
import { PackFile } from '../../lib/git/pack-file.js';
import { PackIndex } from '../../lib/git/pack-idx.js';
import { BufferSource } from '../../lib/io/random-access.js';
import { Silo } from '../../lib/silo/silo.js';

export const TARGETS = ['pack-idx', 'pack-entry', 'pack-file', 'delta', 'tree', 'loose-object', 'tar', 'treeptr', 'meta', 'daemon-protocol', 'http', 'remote-pack'] as const;
export type Target = (typeof TARGETS)[number];

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'fuzz', GIT_AUTHOR_EMAIL: 'fuzz@medo', GIT_COMMITTER_NAME: 'fuzz', GIT_COMMITTER_EMAIL: 'fuzz@medo',
  GIT_AUTHOR_DATE: '1700000000 +0000', GIT_COMMITTER_DATE: '1700000000 +0000', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' };

function git(cwd: string, args: string[], input?: Buffer | string): Buffer {
  return execFileSync('git', args, { cwd, env: GIT_ENV, input, maxBuffer: 256 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
}

const u32le = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u16le = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };

class Corpus {
  private readonly counts = new Map<string, number>();
  constructor(readonly dir: string) {
    for (const t of TARGETS) mkdirSync(join(dir, t), { recursive: true });
  }

  add(t: Target, ...parts: Buffer[]): void {
    const data = Buffer.concat(parts);
    writeFileSync(join(this.dir, t, createHash('sha1').update(data).digest('hex')), data);
    this.counts.set(t, (this.counts.get(t) ?? 0) + 1);
  }

  count(t: Target): number {
    return this.counts.get(t) ?? 0;
  }
}

/** A repository of the project's lib/*.ts and lib/git/*.ts, committed twice (the second edits, drops and renames). */
function makeRepo(root: string, work: string): string {
  const repo = join(work, 'repo');
  mkdirSync(join(repo, 'git'), { recursive: true });
  git(repo, ['init', '-q']);
  for (const [from, to] of [['lib', repo], [join('lib', 'git'), join(repo, 'git')]] as const) {
    for (const f of readdirSync(join(root, from))) if (f.endsWith('.ts')) cpSync(join(root, from, f), join(to, f));
  }
  chmodSync(join(repo, 'oid.ts'), 0o755);
  symlinkSync('git/tree.ts', join(repo, 'tree-link'));
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', 'first']);
  for (const f of readdirSync(join(repo, 'git')).slice(0, 6)) {
    const p = join(repo, 'git', f);
    writeFileSync(p, `${readFileSync(p, 'utf8').replace(/MedoError/g, 'MedoFailure')}\n// edited\n`);
  }
  git(repo, ['rm', '-q', 'lru-cache.ts']);
  git(repo, ['mv', 'store.ts', 'store-renamed.ts']);
  git(repo, ['commit', '-q', '-a', '-m', 'second']);
  return repo;
}

function looseObjects(repo: string): Buffer[] {
  const dir = join(repo, '.git', 'objects');
  return readdirSync(dir).filter((d) => /^[0-9a-f]{2}$/.test(d))
    .flatMap((d) => readdirSync(join(dir, d)).map((f) => readFileSync(join(dir, d, f))));
}

interface Pack {
  pack: Buffer;
  idx: Buffer;
}

function packs(repo: string, work: string): Pack[] {
  const out: Pack[] = [];
  // git repack: OFS_DELTA entries, and an index whose offsets above 0x200 go to the 64-bit table.
  git(repo, ['repack', '-a', '-d', '-q', '-f', '--window=50', '--depth=50']);
  const packDir = join(repo, '.git', 'objects', 'pack');
  const name = readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
  const ofs = readFileSync(join(packDir, name));
  out.push({ pack: ofs, idx: readFileSync(join(packDir, name.replace(/\.pack$/, '.idx'))) });
  const big = join(work, 'large-offsets.pack');
  writeFileSync(big, ofs);
  git(work, ['index-pack', '--index-version=2,0x200', '-o', join(work, 'large-offsets.idx'), big]);
  out.push({ pack: ofs, idx: readFileSync(join(work, 'large-offsets.idx')) });
  // git pack-objects without --delta-base-offset: REF_DELTA entries; and a small pack of one tree's objects.
  const revs = git(repo, ['rev-list', '--objects', '--all']).toString().split('\n').filter(Boolean).map((l) => l.split(' ')[0]).join('\n');
  const refBase = git(work, ['--git-dir', join(repo, '.git'), 'pack-objects', '-q', '--window=50', join(work, 'ref')], `${revs}\n`).toString().trim();
  out.push({ pack: readFileSync(join(work, `ref-${refBase}.pack`)), idx: readFileSync(join(work, `ref-${refBase}.idx`)) });
  const few = git(repo, ['ls-tree', 'HEAD:git']).toString().split('\n').filter(Boolean).slice(0, 4).map((l) => l.split(/\s+/)[2]).join('\n');
  const fewBase = git(work, ['--git-dir', join(repo, '.git'), 'pack-objects', '-q', join(work, 'few')], `${few}\n`).toString().trim();
  out.push({ pack: readFileSync(join(work, `few-${fewBase}.pack`)), idx: readFileSync(join(work, `few-${fewBase}.idx`)) });
  return out;
}

function packSeeds(c: Corpus, all: Pack[]): void {
  for (const { pack, idx } of all) {
    c.add('pack-idx', idx);
    c.add('pack-file', pack);
    c.add('remote-pack', u32le(idx.length), idx, pack, Buffer.of(0));
    const index = PackIndex.open(new BufferSource(idx, 'seed.idx'));
    const file = new PackFile(index, new BufferSource(pack, 'seed.pack'));
    for (let i = 0; i < index.count; i++) {
      const offset = index.offsetAt(i);
      const h = parseEntryHeader(pack.subarray(offset, offset + 32), offset, 'seed.pack');
      if (i % 3 === 0 || h.typeCode >= OBJ_OFS_DELTA) c.add('pack-entry', u32le(offset), Buffer.of(0), pack.subarray(offset, offset + 40));
      const zlib = pack.subarray(offset + h.headerLength, offset + h.headerLength + h.size + 64);
      if (i % 4 === 0) c.add('loose-object', Buffer.of(2), u32le(h.size), zlib);
      if (h.typeCode !== OBJ_OFS_DELTA && h.typeCode !== OBJ_REF_DELTA) {
        const obj = file.readAt(offset);
        if (obj.type === 'tree') c.add('tree', obj.content);
        continue;
      }
      const base = h.typeCode === OBJ_OFS_DELTA ? file.readAt(h.baseOffset!) : file.read(h.baseOid!)!;
      const delta = inflateSync(zlib); // the bytes after the stream are ignored
      if (base.content.length <= 0xffff && c.count('delta') < 60) c.add('delta', u16le(base.content.length), base.content, delta);
    }
  }
}

/** A directory with what tarballs hold: a long name, a deep path, links, modes, an empty directory, UTF-8. */
function tarSeeds(c: Corpus, root: string, work: string): void {
  const src = join(work, 'tree');
  const deep = join(src, 'a'.repeat(60), 'b'.repeat(60));
  mkdirSync(deep, { recursive: true });
  mkdirSync(join(src, 'empty'));
  cpSync(join(root, 'lib', 'oid.ts'), join(src, 'oid.ts'));
  writeFileSync(join(deep, `${'long-name-'.repeat(12)}.txt`), 'a name over 100 bytes\n');
  writeFileSync(join(src, 'grüße.txt'), 'utf-8 name\n');
  writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(src, 'run.sh'), 0o755);
  symlinkSync('oid.ts', join(src, 'link'));
  linkSync(join(src, 'oid.ts'), join(src, 'hard'));
  utimesSync(join(src, 'oid.ts'), 1700000000.25, 1700000000.25);
  for (const format of ['gnu', 'pax', 'ustar', 'v7']) {
    const out = join(work, `${format}.tar`);
    try {
      execFileSync('tar', ['--format', format, '--sort=name', '-cf', out, '-C', src, '.'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      // ustar and v7 refuse the long name: keep what they wrote of the rest
      try {
        execFileSync('tar', ['--format', format, '--sort=name', '-cf', out, '-C', src, 'oid.ts', 'link', 'hard', 'run.sh', 'empty'], { stdio: 'ignore' });
      } catch {
        continue;
      }
    }
    const tar = readFileSync(out);
    c.add('tar', Buffer.of(0), u16le(tar.length), tar);
    c.add('tar', Buffer.of(0), u16le(511), tar);
    c.add('tar', Buffer.of(1), gzipSync(tar));
    c.add('tar', Buffer.of(3), tar.subarray(0, 512));
    // Each extended header's records ('x' pax, 'L' GNU long name), as the pax mode reads them.
    for (let at = 0; at + 512 <= tar.length;) {
      const block = tar.subarray(at, at + 512);
      if (block.every((x) => x === 0)) break;
      const size = parseInt(block.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
      if (block[156] === 0x78 || block[156] === 0x67) c.add('tar', Buffer.of(2), tar.subarray(at + 512, at + 512 + size));
      if (block[156] === 0x4c || block[156] === 0x78) c.add('tar', Buffer.of(3), block);
      at += 512 + Math.ceil(size / 512) * 512;
    }
  }
  // A bomb: a gzip of zeros that ends the archive at once and then inflates to 16 MiB.
  c.add('tar', Buffer.of(1), gzipSync(Buffer.alloc(16 << 20)));
}

function cli(root: string, args: string[], cwd: string): string {
  return execFileSync(process.execPath, [join(root, 'bin', 'medo.js'), ...args], { cwd, env: { ...process.env, MEDO_NO_NATIVE: '' }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** A silo and a medo directory written by the CLI: .treeptr files, SILO.json, sidecars, loose .gz objects, the pack list. */
function medoSeeds(c: Corpus, root: string, work: string): void {
  const silo = join(work, 'silo');
  execFileSync(process.execPath, [join(root, 'bin', 'silo.js'), 'init', silo], { stdio: 'ignore' });
  const md = join(work, 'd.medo');
  mkdirSync(md);
  writeFileSync(join(md, 'SILO.json'), `${JSON.stringify({ silos: [silo, 'https://example.org/silo'] })}\n`);
  const tree = join(work, 'tree');
  cli(root, ['add', tree, join(md, 'tree.treeptr')], work);
  cli(root, ['add', '--url', 'https://example.org/oid.ts', '--input', 'tree.treeptr', '--base', 'debian:bookworm', '--command', 'make', '--env', 'CC=gcc',
    join(work, 'gnu.tar'), join(md, 'from-tar.treeptr')], work);
  cli(root, ['add', '--blob', '--url', 'https://example.org/pax.tar', join(work, 'pax.tar'), join(md, 'blob.treeptr')], work);
  for (const f of readdirSync(md)) c.add('treeptr', Buffer.of(f === 'SILO.json' ? 1 : 0), readFileSync(join(md, f)));
  c.add('treeptr', Buffer.of(1), Buffer.from('{"version": 1, "silos": ["../silo", "http://127.0.0.1:8080/silo/"]}\n'));

  const store = Silo.open(silo);
  for (const f of readdirSync(md).filter((n) => n.endsWith('.treeptr'))) {
    const meta = (JSON.parse(readFileSync(join(md, f), 'utf8')) as { meta?: string }).meta;
    const content = meta === undefined ? undefined : store.read(meta)?.content;
    if (content === undefined) continue;
    c.add('meta', content);
    // The same as version 1 writes it: each path's attrs inline.
    const v2 = JSON.parse(content.toString('utf8')) as { attrs: number[][]; paths: Record<string, number>; empty_dirs: string[] };
    const paths = Object.fromEntries(Object.entries(v2.paths).map(([p, i]) => [p, v2.attrs[i]]));
    c.add('meta', Buffer.from(JSON.stringify({ format: 'medo-meta', version: 1, paths, empty_dirs: v2.empty_dirs })));
  }
  const objects = join(silo, 'objects');
  for (const d of readdirSync(objects)) {
    for (const f of readdirSync(join(objects, d)).slice(0, 10)) c.add('loose-object', Buffer.of(1), readFileSync(join(objects, d, f)));
  }
  const packDir = join(silo, 'pack');
  for (const f of readdirSync(packDir)) {
    if (f === 'packs') c.add('http', Buffer.of(0), readFileSync(join(packDir, f)));
    if (f.endsWith('.idx')) {
      const idx = readFileSync(join(packDir, f));
      c.add('pack-idx', idx);
      c.add('remote-pack', u32le(idx.length), idx, readFileSync(join(packDir, f.replace(/\.idx$/, '.pack'))), Buffer.of(0));
    }
  }
}

/** What a node:http server answers GETs of a silo's files with, byte for byte off the socket. */
async function httpSeeds(c: Corpus, work: string): Promise<void> {
  const files = [join(work, 'silo', 'pack', 'packs'), join(work, 'oid-copy')];
  writeFileSync(files[1]!, readFileSync(join(work, 'tree', 'oid.ts')));
  const server = createHttpServer((req, res) => {
    const file = req.url === '/packs' ? files[0]! : req.url === '/gone' ? undefined : files[1]!;
    let body: Buffer;
    try {
      body = readFileSync(file ?? '/nonexistent');
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m === null) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    const start = Number(m[1]);
    const end = m[2] === '' ? body.length - 1 : Math.min(Number(m[2]), body.length - 1);
    if (start >= body.length) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 }).end(body.subarray(start, end + 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const raw = (path: string, range?: string): Promise<Buffer> => new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${range === undefined ? '' : `Range: ${range}\r\n`}\r\n`));
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => resolve(Buffer.concat(got)));
    s.on('error', reject);
  });
  // [kind: 0 whole, 1 from start, 2 start..start+len][u16 start][u16 len], then the response
  const asks: [string, number, number, number][] = [['/packs', 0, 0, 0], ['/oid', 0, 0, 0], ['/oid', 1, 100, 0], ['/oid', 2, 10, 99], ['/oid', 2, 60000, 10], ['/gone', 0, 0, 0]];
  for (const [path, kind, start, len] of asks) {
    const range = kind === 0 ? undefined : `bytes=${start}-${kind === 1 ? '' : start + len}`;
    c.add('http', Buffer.of(1, kind), u16le(start), u16le(len), await raw(path, range));
  }
  server.close();
}

/** Request lines the CLI sends (captured from a socket it talks to), and responses encodeResponse writes. */
async function protocolSeeds(c: Corpus, root: string, work: string): Promise<void> {
  const sock = join(work, 'medod.sock');
  const lines: Buffer[] = [];
  const server = createServer((conn) => {
    conn.on('data', (d: Buffer) => {
      lines.push(d);
      conn.end(encodeResponse(1, { error: new MedoError('ERR_NOT_MOUNTED', 'fuzz seed server') }));
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const run = (args: string[]): Promise<void> => new Promise((resolve) => {
    const child = execFile(process.execPath, [join(root, 'bin', 'medo.js'), ...args, '--socket', sock]);
    child.on('exit', () => resolve());
  });
  await run(['status']);
  await run(['unmount', '--lazy', join(work, 'mnt')]);
  await run(['mount', join(work, 'd.medo'), join(work, 'mnt'), '-o', 'allow_other']);
  server.close();
  for (const l of lines) c.add('daemon-protocol', Buffer.of(0), l);
  c.add('daemon-protocol', Buffer.of(0), Buffer.from('{"v":1,"id":7,"op":"hello"}\n'));
  const status = { pid: 1, version: 1, since: '2024-01-01T00:00:00.000Z', uptimeSec: 1, socket: sock, stateDir: '/var/lib/medo', memory: { rss: 1, heapUsed: 1 }, mounts: [], pending: [] };
  c.add('daemon-protocol', Buffer.of(1), Buffer.from(encodeResponse(1, { result: status })));
  c.add('daemon-protocol', Buffer.of(1), Buffer.from(encodeResponse(1, { error: new MedoError('ERR_PROTOCOL', 'unknown op') })));
}


/** Writes every target's seeds under `dir`; returns how many each has. */
export async function makeSeeds(root: string, dir: string): Promise<Record<Target, number>> {
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const c = new Corpus(join(dir, 'corpus'));
  const repo = makeRepo(root, work);
  for (const o of looseObjects(repo)) c.add('loose-object', Buffer.of(0), o);
  c.add('loose-object', Buffer.of(0), deflateSync(Buffer.concat([Buffer.from('blob 16777216\0'), Buffer.alloc(16 << 20)])));
  c.add('loose-object', Buffer.of(2), u32le(1000), deflateSync(Buffer.alloc(32 << 20)));
  packSeeds(c, packs(repo, work));
  tarSeeds(c, root, work);
  medoSeeds(c, root, work);
  await httpSeeds(c, work);
  await protocolSeeds(c, root, work);
  return Object.fromEntries(TARGETS.map((t) => [t, c.count(t)])) as Record<Target, number>;
}
