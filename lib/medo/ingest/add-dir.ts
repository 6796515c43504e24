// A directory into a silo: its git tree (exactly what `git add -A && git write-tree` gives) and its
// metadata sidecar, in one new pack.
import type { BlobRef } from './build-tree.js';
import { scanDir } from './scan-dir.js';
import { IngestSession, type IngestOptions, type IngestResult } from './session.js';

export async function ingestDirectory(dir: string, options: IngestOptions): Promise<IngestResult> {
  const session = new IngestSession(options);
  try {
    // Hard links are one inode under several names: read once, stored once.
    const inodes = new Map<string, BlobRef>();
    for await (const e of scanDir(dir, options)) {
      if (e.kind === 'dir') {
        session.addDir(e.path, e.stat);
      } else if (e.kind === 'symlink') {
        session.addSymlink(e.path, e.target!, e.stat);
      } else {
        const seen = e.inode === undefined ? undefined : inodes.get(e.inode);
        if (seen !== undefined) {
          session.addLink(e.path, seen, 'file', e.stat);
          continue;
        }
        const ref = await session.addFile(e.path, { path: e.abs }, e.size, e.stat);
        if (e.inode !== undefined) inodes.set(e.inode, ref);
      }
    }
    return await session.finish();
  } catch (e) {
    await session.abort();
    throw e;
  }
}
