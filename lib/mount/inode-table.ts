// Inode numbers: assigned per path on first sight and kept for the life of the mount, so `stat` twice
// gives the same st_ino and two paths never share one (tar would take a shared number for a hard link,
// even when two files merely hold the same blob). The root is 1, as in every FUSE filesystem.
//
// The table grows with the number of distinct paths looked up, never more: it is the price of numbers that
// are stable without being stored anywhere. (A hash of the path would need no table, but two of a few
// hundred thousand paths would share a 32-bit number, and the binding passes st_ino as 32 bits.)

export class InodeTable {
  private readonly byPath = new Map<string, number>([['', 1]]);
  /** Number -> path: the same strings as byPath's keys (8 bytes a number), index 0 unused. */
  private readonly paths: string[] = ['', ''];

  /** The inode of `path` (relative to the mount's root), assigning the next free number on first use. */
  of(path: string): number {
    let ino = this.byPath.get(path);
    if (ino === undefined) {
      ino = this.paths.length;
      this.paths.push(path);
      this.byPath.set(path, ino);
    }
    return ino;
  }

  /** The path numbered `ino` (the string the table keeps), or undefined for a number not given out. */
  pathOf(ino: number): string | undefined {
    return ino >= 1 ? this.paths[ino] : undefined;
  }

  get size(): number {
    return this.byPath.size;
  }
}

/** A view of a table for a source mounted at `prefix` ('' for the root): paths are relative to the source. */
export class InodeScope {
  constructor(readonly table: InodeTable, readonly prefix: string) {}

  of(path: string): number {
    if (this.prefix === '') return this.table.of(path);
    return this.table.of(path === '' ? this.prefix : `${this.prefix}/${path}`);
  }

  child(path: string): InodeScope {
    return new InodeScope(this.table, this.prefix === '' ? path : path === '' ? this.prefix : `${this.prefix}/${path}`);
  }
}
