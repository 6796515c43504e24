// A least-recently-used cache bounded by the total "weight" (usually bytes) of its values.
// Keys name immutable content (object ids, pack offsets), so entries are never invalidated,
// only evicted to keep the bound.

export class LruCache<K, V> {
  readonly maxWeight: number;
  private readonly map = new Map<K, { value: V; weight: number }>();
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
    // Map iteration order is insertion order: re-inserting marks the entry most recently used.
    this.map.delete(key);
    this.map.set(key, hit);
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
    this.map.set(key, { value, weight });
    this.total += weight;
    while (this.total > this.maxWeight) {
      const first = this.map.keys().next();
      if (first.done) break;
      this.total -= this.map.get(first.value)!.weight;
      this.map.delete(first.value);
    }
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}
