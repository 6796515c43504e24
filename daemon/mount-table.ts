// The kernel's mount table as this process sees it (/proc/self/mountinfo, proc(5)): how `medo unmount`
// tells a medo mount from anything else, and how a serving process notices it was unmounted from outside.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/** The filesystem type a medo mount shows (`fuse.` + the subtype mount option). */
export const MEDO_FSTYPE = 'fuse.medo';

export interface MountInfo {
  /** major:minor of the mounted filesystem. */
  device: string;
  mountpoint: string;
  fstype: string;
}

// Fields: mount id, parent id, major:minor, root, mount point (octal escapes for space, tab, newline, '\'),
// options, optional fields, then " - ", the filesystem type, the source and super options.
const unescapeMountPath = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountInfo(text: string): MountInfo[] {
  return text.split('\n').filter((l) => l !== '').map((line) => {
    const [left, right = ''] = line.split(' - ');
    const f = left!.split(' ');
    return { device: f[2] ?? '', mountpoint: unescapeMountPath(f[4] ?? ''), fstype: right.split(' ')[0] ?? '' };
  });
}

export async function mountTable(): Promise<MountInfo[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

export async function isMedoMount(mountpoint: string): Promise<boolean> {
  const abs = resolve(mountpoint);
  return (await mountTable()).some((m) => m.mountpoint === abs && m.fstype === MEDO_FSTYPE);
}

/** Device of the topmost medo mount at `mountpoint`, or undefined when there is none. */
export async function medoMountDevice(mountpoint: string): Promise<string | undefined> {
  const mine = (await mountTable()).filter((m) => m.mountpoint === mountpoint && m.fstype === MEDO_FSTYPE);
  return mine[mine.length - 1]?.device;
}
