// Tarballs kept as one blob (`medo add --blob`): recognizing them, streaming their entries out of the
// blob, and checking that the entries form a tree that can be written below a destination without
// leaving it. The tar reader (lib/tar/tar-reader.ts) already refuses '..' and absolute names; what a
// stream can still do, and one git tree cannot, is name a path through an earlier symlink or file
// (`a -> /etc`, then `a/passwd`): that is ERR_UNSAFE_PATH here.
import { spawn, spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { constants as zc, createGunzip, gunzipSync } from 'node:zlib';
import { MedoError } from '../../errors.js';
import { hashObject } from '../../oid.js';
import { detectCompression, type Compression } from '../../tar/decompress.js';
import { readTar, type TarEntry } from '../../tar/tar-reader.js';
import type { ObjectStore } from '../../store.js';
import { readBlob } from './read-blob.js';
import { filePerm } from '../meta.js';
import { joinPath, type ExpectedDir, type ExpectedFile, type ExpectedNode } from './expected.js';

const HEAD_BYTES = 1 << 20;
const CHUNK = 1 << 20;

function compressionOf(content: Buffer): Compression | undefined {
  try {
    return detectCompression(content.subarray(0, 6));
  } catch {
    return undefined; // bzip2, lzip, lz4: not something we unpack, so just a file
  }
}

function hasUstarMagic(tarHead: Buffer): boolean {
  return tarHead.length >= 263 && tarHead.toString('latin1', 257, 262) === 'ustar';
}

/**
 * True when `content` is a tarball we can unpack: a plain tar with the ustar magic, or gzip, xz or zstd
 * data that decompresses to one (the first MiB is tried, so a compressed non-tar file stays a file).
 */
export function isTarball(content: Buffer): boolean {
  const c = compressionOf(content);
  if (c === undefined) return false;
  if (c === 'none') return hasUstarMagic(content);
  const head = content.subarray(0, HEAD_BYTES);
  if (c === 'gzip') {
    try {
      return hasUstarMagic(gunzipSync(head, { finishFlush: zc.Z_SYNC_FLUSH }));
    } catch {
      return false;
    }
  }
  // The tool may complain about the truncated input; what it decoded before that is all we need.
  const r = spawnSync(c === 'xz' ? 'xz' : 'zstd', ['-dc'], { input: head, maxBuffer: 64 << 20 });
  if (r.error !== undefined) return true; // tool missing: trust the magic, unpacking will say what is wrong
  return hasUstarMagic(r.stdout);
}

/** Decides, for expectedRoot(), which blob targets are tarballs to unpack. */
export function tarballDetector(store: ObjectStore, enabled: boolean): (oid: string) => boolean {
  return (oid) => enabled && isTarball(readBlob(store, oid, ''));
}

function* chunks(content: Buffer): Generator<Buffer> {
  for (let at = 0; at < content.length; at += CHUNK) yield content.subarray(at, at + CHUNK);
}

const corrupt = (label: string, what: string, cause?: unknown): MedoError =>
  new MedoError('ERR_TAR_CORRUPT', `${label}: ${what}${cause === undefined ? '' : `: ${(cause as Error).message ?? String(cause)}`}`, {}, { cause });

/** The decompressed tar bytes of a tarball held in memory. */
export async function* tarBytes(content: Buffer, label: string): AsyncGenerator<Buffer> {
  const c = compressionOf(content) ?? 'none';
  if (c === 'none') {
    yield* chunks(content);
    return;
  }
  if (c === 'gzip') {
    const z = createGunzip({ chunkSize: 256 * 1024 });
    const raw = Readable.from(chunks(content));
    raw.pipe(z);
    try {
      for await (const chunk of z) yield chunk as Buffer;
    } catch (e) {
      throw corrupt(label, 'gzip data is corrupt or truncated', e);
    } finally {
      raw.destroy();
      z.destroy();
    }
    return;
  }
  const tool = c === 'xz' ? 'xz' : 'zstd';
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  let stderr = '';
  child.stderr.on('data', (s: Buffer) => {
    if (stderr.length < 4096) stderr += s.toString();
  });
  child.stdin.on('error', () => {}); // a child that stops reading says why in its exit status
  Readable.from(chunks(content)).pipe(child.stdin);
  let complete = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const r = await exited;
    if (r.error !== undefined) throw corrupt(label, `cannot run '${tool} -dc'`, r.error);
    if (r.code !== 0) throw corrupt(label, `${tool} data is corrupt or truncated (${stderr.trim().split('\n').pop() ?? `exit ${r.code}`})`);
    complete = true;
  } finally {
    if (!complete && child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
  }
}

/** The entries of a tarball held in memory. */
export function tarEntries(content: Buffer, label: string): AsyncGenerator<TarEntry> {
  return readTar(tarBytes(content, label));
}

/**
 * The tree a tarball's entries describe, below `base`, built one entry at a time. A later entry for the
 * same path replaces the earlier one, as tar does, but never turns a directory into something else or the
 * other way round.
 */
export class ArchiveLayout {
  readonly nodes = new Map<string, ExpectedNode>();
  private readonly kids = new Map<string, Set<string>>();

  constructor(readonly base: string, readonly label: string) {
    this.nodes.set('', this.dirNode(''));
  }

  private dirNode(rel: string): ExpectedDir {
    return { kind: 'dir', path: joinPath(this.base, rel), opaque: false, children: () => this.childrenOf(rel) };
  }

  private childrenOf(rel: string): ExpectedNode[] {
    return [...(this.kids.get(rel) ?? [])].map((name) => this.nodes.get(joinPath(rel, name))!);
  }

  /** Names directly inside directory `rel` of the archive. */
  names(rel: string): ReadonlySet<string> {
    return this.kids.get(rel) ?? new Set();
  }

  /** Every directory, parents before children. */
  dirs(): ExpectedDir[] {
    return [...this.nodes.values()].filter((n): n is ExpectedDir => n.kind === 'dir');
  }

  /**
   * Checks and records one entry; `fileOid` is the git blob id of a file's content. Returns the node and
   * the directories its path implies that no entry has named yet (outermost first).
   */
  add(e: TarEntry, fileOid?: string): { node: ExpectedNode; implied: ExpectedDir[] } {
    const parts = e.path === '' ? [] : e.path.split('/');
    const implied: ExpectedDir[] = [];
    for (let i = 0; i < parts.length - 1; i++) {
      const rel = parts.slice(0, i + 1).join('/');
      const have = this.nodes.get(rel);
      if (have === undefined) {
        const d = this.dirNode(rel);
        this.record(rel, d);
        implied.push(d);
      } else if (have.kind !== 'dir') {
        throw new MedoError('ERR_UNSAFE_PATH', `${this.label}: entry ${JSON.stringify(e.path)} goes through ${JSON.stringify(rel)}, which is a ${have.kind}`,
          { path: e.path, offset: e.offset });
      }
    }
    const node = this.nodeFor(e, fileOid);
    const before = this.nodes.get(e.path);
    if (before !== undefined && (before.kind === 'dir') !== (node.kind === 'dir')) {
      throw new MedoError('ERR_TAR_CORRUPT', `${this.label}: entry ${JSON.stringify(e.path)} turns a ${before.kind} into a ${node.kind}`,
        { path: e.path, offset: e.offset });
    }
    this.record(e.path, node);
    return { node, implied };
  }

  private record(rel: string, node: ExpectedNode): void {
    this.nodes.set(rel, node);
    if (rel === '') return;
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    let set = this.kids.get(parent);
    if (set === undefined) this.kids.set(parent, (set = new Set()));
    set.add(rel.slice(slash + 1));
  }

  private nodeFor(e: TarEntry, fileOid: string | undefined): ExpectedNode {
    const path = joinPath(this.base, e.path);
    const mtime = { sec: e.mtimeSec, nsec: e.mtimeNsec };
    switch (e.type) {
      case 'dir':
        return { ...this.dirNode(e.path), perm: e.mode, mtime };
      case 'file':
        return { kind: 'file', path, oid: fileOid ?? hashObject('blob', e.content ?? Buffer.alloc(0)), perm: filePerm(e.mode), permExact: true, mtime };
      case 'symlink':
        return { kind: 'symlink', path, oid: hashObject('blob', Buffer.from(e.linkTarget!, 'utf8')), target: Buffer.from(e.linkTarget!, 'utf8'), mtime };
      case 'hardlink': {
        const target = this.nodes.get(e.linkTarget!);
        if (target?.kind !== 'file') {
          throw new MedoError('ERR_TAR_CORRUPT', `${this.label}: hard link ${JSON.stringify(e.path)} names ${JSON.stringify(e.linkTarget)}, which is not an earlier file`,
            { path: e.path, offset: e.offset });
        }
        const f: ExpectedFile = { kind: 'file', path, oid: target.oid, perm: filePerm(e.mode), permExact: true, mtime, linkOf: target.path };
        return f;
      }
      default:
        throw new MedoError('ERR_SPECIAL_FILE', `${this.label}: entry ${JSON.stringify(e.path)} is a device, fifo or socket; only files, directories and links are unpacked`,
          { path: e.path, offset: e.offset });
    }
  }
}
