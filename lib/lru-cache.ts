// A least-recently-used cache bounded by the total "weight" (usually bytes) of its values.
// Keys name immutable content (object ids, pack offsets), so entries are never invalidated,
// only evicted to keep the bound.
//
// Recency is kept the CLOCK way ("second chance"): a hit only marks its entry; eviction walks from the
// oldest insertion and moves a marked entry to the back, unmarked, instead of evicting it. A hit then costs
// one map lookup instead of a delete and a re-insert, and the delta-base cache takes several per object.

export class LruCache<K, V> {
  readonly maxWeight: number;
  private readonly map = new Map<K, { value: V; weight: number; used: boolean }>();
  private total = 0;

  constructor(maxWeight: number, private readonly weigh: (v: V) => number) {
    if (!(maxWeight >= 0)) throw new RangeError(`LruCache maxWeight must be >= 0, got ${maxWeight}`);
    this.maxWeight = maxWeight;
  }

  get size(): number {
    return this.map.size;
  }

  get weight(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    const hit = this.map.get(key);
    if (hit === undefined) return undefined;
    hit.used = true;
    return hit.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    const weight = this.weigh(value);
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.total -= old.weight;
    }
    if (weight > this.maxWeight) return; // would evict everything else and still not fit
    this.map.set(key, { value, weight, used: false });
    this.total += weight;
    // Map iteration order is insertion order: the first entries are the oldest. An entry moved to the
    // back is visited again only after every older one, unmarked by then, so the walk ends.
    if (this.total > this.maxWeight) {
      for (const [k, e] of this.map) {
        this.map.delete(k);
        if (e.used) {
          e.used = false;
          this.map.set(k, e);
        } else {
          this.total -= e.weight;
          if (this.total <= this.maxWeight) break;
        }
      }
    }
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}
