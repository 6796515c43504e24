// Unpacking a tarball blob while it streams: each entry is checked against the ones before it
// (ArchiveLayout), its directories are made real directories first, then it goes through the same
// compare-or-replace steps as a tree's files. Writes run concurrently, bounded in bytes held, and a later
// entry for the same path waits for the earlier one.
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hashObject } from '../../oid.js';
import type { Expander } from '../expand.js';
import { ArchiveLayout, tarEntries } from './archive.js';
import type { ExpectedArchive, ExpectedDir } from './expected.js';
import { openNoFollow, readAll, withFd } from './fs-ops.js';
import { settleAll, track } from './limiter.js';
import { readBlob } from './read-blob.js';

const MAX_HELD_BYTES = 64 << 20;

async function lstatIfAny(abs: string): Promise<Stats | undefined> {
  try {
    return await lstat(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function readBack(abs: string): Promise<Buffer> {
  return withFd(await openNoFollow(abs), readAll);
}

const depthOf = (path: string): number => (path === '' ? 0 : path.split('/').length);

/** Unpacks the tarball blob `node` into the existing directory `node.path` below the destination. */
export async function unpackArchive(x: Expander, node: ExpectedArchive): Promise<void> {
  const content = readBlob(x.store, node.oid, node.path);
  const label = `tarball ${node.oid} (${node.path === '' ? 'the target' : node.path})`;
  const layout = new ArchiveLayout(node.path, label);
  const absOf = (path: string): string => (path === '' ? x.dest : join(x.dest, ...path.split('/')));
  const ready = new Set<string>([node.path]);
  const ensure = async (d: ExpectedDir): Promise<void> => {
    if (ready.has(d.path)) return;
    await x.op(async () => x.ensureDir(d, absOf(d.path), await lstatIfAny(absOf(d.path))));
    ready.add(d.path);
  };
  // The last write of each path, so that a repeated entry or a hard link waits for the one it follows.
  const last = new Map<string, Promise<void>>();
  const held = new Set<Promise<void>>();
  let heldBytes = 0;
  try {
    for await (const e of tarEntries(content, label)) {
      x.throwIfFailed();
      const { node: n, implied } = layout.add(e, e.type === 'file' ? hashObject('blob', e.content!) : undefined);
      for (const d of implied) await ensure(d);
      if (n.kind === 'dir') {
        await ensure(n);
        continue;
      }
      const before = last.get(n.path);
      const source = n.kind === 'file' && n.linkOf !== undefined ? last.get(n.linkOf) : undefined;
      const job = (async () => {
        await before;
        await source;
        await x.op(async () => {
          const at = absOf(n.path);
          const st = await lstatIfAny(at);
          if (n.kind === 'symlink') return x.syncSymlink(n, at, st, n.target);
          if (n.kind !== 'file') return;
          const data = n.linkOf !== undefined ? await readBack(absOf(n.linkOf)) : e.content;
          return x.syncFile(n, at, st, data);
        });
      })();
      job.catch(() => undefined); // failures are collected by x.op and rethrown below
      last.set(n.path, job);
      const size = e.content?.length ?? 0;
      heldBytes += size;
      const tracked: Promise<void> = job.finally(() => {
        held.delete(tracked);
        heldBytes -= size;
      });
      tracked.catch(() => undefined);
      held.add(tracked);
      while (held.size > 0 && (heldBytes > MAX_HELD_BYTES || held.size > 256)) await Promise.race(held).catch(() => undefined);
    }
  } finally {
    await Promise.allSettled([...held]);
  }
  x.throwIfFailed();
  const extras: Promise<void>[] = [];
  for (const d of layout.dirs()) {
    const names = layout.names(d.path.slice(node.path === '' ? 0 : node.path.length + 1));
    for (const ent of await x.op(() => readdir(absOf(d.path), { withFileTypes: true }))) {
      if (!names.has(ent.name)) track(extras, x.extra(d.path === '' ? ent.name : `${d.path}/${ent.name}`, join(absOf(d.path), ent.name), ent));
    }
    x.addDir(d, absOf(d.path), depthOf(d.path));
  }
  await settleAll(extras);
}
