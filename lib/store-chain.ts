// An ordered list of stores read as one: the first that holds an object answers. A git repository with
// alternates is a chain, and so are the silos a medo directory's SILO.json lists.
import type { RawObject } from './git/pack-file.js';
import type { ObjectStore } from './store.js';

export class StoreChain implements ObjectStore {
  constructor(readonly stores: readonly ObjectStore[], readonly path = stores[0]?.path ?? '<empty>') {}

  read(oid: string): RawObject | undefined {
    for (const s of this.stores) {
      const o = s.read(oid);
      if (o !== undefined) return o;
    }
    return undefined;
  }

  has(oid: string): boolean {
    return this.stores.some((s) => s.has(oid));
  }

  close(): void {
    for (const s of this.stores) s.close();
  }
}
