// A small ext4 file system on a loop device, for what a full disk does to each writer: made and mounted
// by the test (root), filled to a chosen margin with one preallocated file, and always torn down.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

export interface SmallDisk {
  /** Where it is mounted. */
  dir: string;
  /** Fills it until `leaveKiB` are free (a file named .filler at its root). */
  fill(leaveKiB: number): void;
  /** Frees what fill() took. */
  unfill(): void;
  freeKiB(): number;
  unmount(): void;
}

/** Why a small disk cannot be made here, or undefined when it can (root, losetup, mkfs.ext4). */
export function smallDiskUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a loop device';
  for (const tool of ['mkfs.ext4', 'losetup', 'mount']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

export function makeSmallDisk(root: string, mib: number): SmallDisk {
  const image = join(root, `disk-${mib}m.img`);
  const dir = join(root, `disk-${mib}m`);
  mkdirSync(dir, { recursive: true });
  execFileSync('truncate', ['-s', `${mib}M`, image]);
  // No reserved blocks, no journal: the free space is what df says, and small writes fail when it ends.
  execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', image]);
  execFileSync('mount', ['-o', 'loop', image, dir]);
  const filler = join(dir, '.filler');
  const freeKiB = (): number => {
    const s = statfsSync(dir);
    return Math.floor((s.bavail * s.bsize) / 1024);
  };
  return {
    dir,
    freeKiB,
    fill(leaveKiB) {
      rmSync(filler, { force: true });
      const take = freeKiB() - leaveKiB;
      if (take > 0) execFileSync('fallocate', ['-l', `${take}KiB`, filler]);
    },
    unfill() {
      rmSync(filler, { force: true });
    },
    unmount() {
      spawnSync('umount', [dir]);
      if (spawnSync('mountpoint', ['-q', dir]).status === 0) spawnSync('umount', ['-l', dir]);
      rmSync(image, { force: true });
    },
  };
}
