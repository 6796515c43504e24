// A least-recently-used cache bounded by the total "weight" (usually bytes) of its values.
// Keys name immutable content (object ids, pack offsets), so entries are never invalidated,
// only evicted to keep the bound.
//
// Recency is kept the CLOCK way ("second chance"): a hit only marks its entry. Entries also sit in a ring
// of slots; to make room, a hand goes round it, unmarking marked entries and evicting unmarked ones, and
// a new entry takes a free slot (one the hand has just emptied, so it is the last the hand comes back to).
// A hit then costs one map lookup, not a delete and a re-insert (the delta-base cache takes several per
// object). Evicting in the Map's own order instead walks, on every eviction, over the deleted keys V8
// leaves at the Map's front until it compacts: 200,000 inserts took 0.29 s at 2,500 entries and 1.7 s
// at 20,000, against 0.07 s at 256.

interface Slot<K, V> {
  key: K;
  value: V;
  weight: number;
  used: boolean;
  /** Its index in the ring. */
  at: number;
}

export class LruCache<K, V> {
  readonly maxWeight: number;
  private readonly map = new Map<K, Slot<K, V>>();
  private ring: (Slot<K, V> | undefined)[] = [];
  /** Indices of empty slots in the ring. */
  private free: number[] = [];
  private hand = 0;
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

  /** Drops `key`'s entry, when there is one. */
  delete(key: K): void {
    const s = this.map.get(key);
    if (s !== undefined) this.remove(s);
  }

  set(key: K, value: V): void {
    const weight = this.weigh(value);
    const old = this.map.get(key);
    if (old !== undefined) this.remove(old);
    if (weight > this.maxWeight) return; // would evict everything else and still not fit
    const at = this.free.pop() ?? this.ring.length;
    const slot: Slot<K, V> = { key, value, weight, used: false, at };
    this.ring[at] = slot;
    this.map.set(key, slot);
    this.total += weight;
    // Each turn of the hand unmarks what it passes, so the second turn at the latest finds entries to evict.
    while (this.total > this.maxWeight) {
      const s = this.ring[this.hand];
      if (s !== undefined && s !== slot) {
        if (s.used) s.used = false;
        else this.remove(s);
      }
      this.hand = (this.hand + 1) % this.ring.length;
    }
  }

  clear(): void {
    this.map.clear();
    this.ring = [];
    this.free = [];
    this.hand = 0;
    this.total = 0;
  }

  private remove(s: Slot<K, V>): void {
    this.map.delete(s.key);
    this.ring[s.at] = undefined;
    this.free.push(s.at);
    this.total -= s.weight;
  }
}
