// Git's delta encoder, after the approach of git's diff-delta.c: index the base by the hash of each
// 16-byte block, slide the same (rolling) hash over the target, extend every hit forward and backward,
// look a few bytes further for a longer match (lazy matching, as deflate does), and write copy
// instructions for the matches and insert instructions for the rest (the format is in
// delta.ts). The native helper (native/medo_native.c) does the work; this module holds the layout both
// share and the JavaScript twin, which the tests hold to byte-identical output.
//
// Index layout, one Int32Array: [bits, heads[2^bits], (next, hash)[blocks]]. Entries are block numbers
// (block b starts at b * 16); a chain lists one bucket's blocks in ascending position and ends with -1.
// Beside each block's link is its window hash, so a lookup passes over the bucket's blocks of other
// hashes without reading the base: those differ within the window, shorter than any copy taken. Of a run of
// identical blocks only the first is kept, and a bucket of more than 64 keeps 64 spread evenly along it
// (git's culling), so repetitive data cannot make a lookup walk thousands of candidates, and a common block
// is still found all over the base.
import { MedoError } from '../errors.js';
import { native } from '../native.js';

export const DELTA_WINDOW = 16;
const PRIME = 0x01000193;
const MIX = 0x9e3779b1 | 0;
const BUCKET_LIMIT = 64;
/**
 * A match shorter than this is left as literals: a copy of a few bytes costs nearly as many, and deflates
 * worse than the text it replaces (git wants its 16-byte window and 4 bytes more).
 */
const MIN_COPY = 16;
/** A match this long is taken without looking for a longer one just after (git's "good enough"). */
const LAZY_UNTIL = 4096;
/** When a later match is taken, the first still copies what lies before it if that is this long. */
const MIN_SPLIT = 8;
const MAX_COPY = 0x10000;
const MAX_BITS = 22;
/** Copy offsets are 32 bits: a larger base cannot be copied from. */
export const MAX_DELTA_BASE = 0xffffffff;

let POW = 1;
for (let k = 0; k < DELTA_WINDOW - 1; k++) POW = Math.imul(POW, PRIME);

function windowHash(p: Uint8Array, at: number): number {
  let h = 0;
  for (let k = 0; k < DELTA_WINDOW; k++) h = (Math.imul(h, PRIME) + p[at + k]!) | 0;
  return h;
}

const bucketOf = (h: number, bits: number): number => Math.imul(h, MIX) >>> (32 - bits);

/** An index of one base, made once and used for every target tried against it. */
export class DeltaIndex {
  readonly table: Int32Array;

  constructor(readonly base: Uint8Array) {
    if (base.length > MAX_DELTA_BASE) {
      throw new MedoError('ERR_TOO_LARGE', `a delta base of ${base.length} bytes is over the format's 4 GiB copy range`);
    }
    const blocks = Math.floor(base.length / DELTA_WINDOW);
    let bits = 4;
    while (bits < MAX_BITS && 2 ** bits < blocks) bits++;
    this.table = new Int32Array(1 + 2 ** bits + 2 * blocks);
    this.table[0] = bits;
    if (native?.deltaIndexInto !== undefined) native.deltaIndexInto(base, this.table);
    else fillIndexJs(base, this.table);
  }

  /** Bytes it holds beyond the base (for memory budgets). */
  get bytes(): number {
    return this.table.byteLength;
  }
}

/** The JavaScript twin of the native deltaIndexInto. */
export function fillIndexJs(base: Uint8Array, table: Int32Array): void {
  const bits = table[0]!;
  const heads = 2 ** bits;
  const blocks = Math.floor(base.length / DELTA_WINDOW);
  table.fill(-1, 1, 1 + heads);
  const count = new Uint32Array(heads);
  const ent = 1 + heads;
  const link = (b: number): number => ent + 2 * b;
  let prev = 0;
  let havePrev = false;
  for (let b = blocks - 1; b >= 0; b--) {
    const h = windowHash(base, b * DELTA_WINDOW);
    const k = bucketOf(h, bits);
    table[link(b) + 1] = h;
    if (havePrev && h === prev && table[1 + k] === b + 1) {
      table[link(b)] = table[link(b + 1)]!;
      table[1 + k] = b;
      continue;
    }
    prev = h;
    havePrev = true;
    table[link(b)] = table[1 + k]!;
    table[1 + k] = b;
    count[k]!++;
  }
  for (let k = 0; k < heads; k++) {
    if (count[k]! <= BUCKET_LIMIT) continue;
    const over = count[k]! - BUCKET_LIMIT;
    let acc = 0;
    for (let e = table[1 + k]!; e >= 0; e = table[link(e)]!) {
      acc += over;
      if (acc <= 0) continue;
      const keep = e;
      do {
        e = table[link(e)]!;
        acc -= BUCKET_LIMIT;
      } while (acc > 0 && e >= 0);
      if (e < 0) {
        table[link(keep)] = -1;
        break;
      }
      table[link(keep)] = table[link(e)]!;
    }
  }
}

let scratch = Buffer.allocUnsafe(64 << 10);

// Before encoding, a target of SAMPLE_FROM bytes or more is sampled: SAMPLES evenly spaced stretches of
// SAMPLE_SPAN positions, each a hit when one of its windows is a block of the base. A stretch inside a
// copy of 48 bytes or more always hits, so the hits estimate (from below: short copies and culled blocks
// are missed) how much of the target a delta can copy, and a delta cannot be smaller than what it must
// insert. A pair whose hits fall short of the cover its size limit needs, less SAMPLE_SLACK, is not
// encoded: most tries in a delta search are of unrelated files, and encoding one to its limit costs half
// the target (a repack of five @types/node releases spent 83 of its 88 ms of encoding on 488 tries that
// failed; with the sample, a few µs each). Where a delta was made, its hits were 21 of 32 and up.
const SAMPLE_FROM = 4096;
const SAMPLES = 32;
const SAMPLE_SPAN = 32;
const SAMPLE_SLACK = 1 / 8;

/** The JavaScript twin of the native deltaSample. */
export function deltaSampleJs(table: Int32Array, base: Uint8Array, t: Uint8Array, samples: number, span: number): number {
  if (samples <= 0 || span <= 0 || t.length < span + DELTA_WINDOW) return 0;
  const bits = table[0]!;
  const ent = 1 + 2 ** bits;
  const room = t.length - span - DELTA_WINDOW;
  let hits = 0;
  for (let k = 0; k < samples; k++) {
    const s = Math.floor((k * room) / samples);
    let hit = false;
    for (let j = s; j < s + span && !hit; j++) {
      const h = windowHash(t, j);
      for (let e = table[1 + bucketOf(h, bits)]!; e >= 0 && !hit; e = table[ent + 2 * e]!) {
        if (table[ent + 2 * e + 1] !== h) continue;
        const pos = e * DELTA_WINDOW;
        let l = 0;
        while (l < DELTA_WINDOW && base[pos + l] === t[j + l]) l++;
        hit = l === DELTA_WINDOW;
      }
    }
    if (hit) hits++;
  }
  return hits;
}

/** Whether the sample leaves a delta of `target` under `maxSize` bytes possible. */
function mayFit(index: DeltaIndex, target: Uint8Array, maxSize: number, useNative: boolean): boolean {
  if (target.length < SAMPLE_FROM) return true;
  const hits = useNative && native?.deltaSample !== undefined
    ? native.deltaSample(index.table, index.base, target, SAMPLES, SAMPLE_SPAN)
    : deltaSampleJs(index.table, index.base, target, SAMPLES, SAMPLE_SPAN);
  return hits >= SAMPLES * (1 - maxSize / target.length - SAMPLE_SLACK);
}

/**
 * A delta that turns `index.base` into `target`, or undefined when it would take `maxSize` bytes or more
 * (then storing the target whole, or against another base, is better), or when a sample of the target
 * shows too little of it in the base for that (see SAMPLES).
 */
export function createDelta(index: DeltaIndex, target: Uint8Array, maxSize: number, useNative = true): Buffer | undefined {
  if (maxSize <= 0) return undefined;
  if (!mayFit(index, target, maxSize, useNative)) return undefined;
  if (scratch.length < maxSize) scratch = Buffer.allocUnsafe(Math.max(maxSize, 2 * scratch.length));
  const dst = scratch.subarray(0, maxSize - 1);
  const n = useNative && native?.createDeltaInto !== undefined
    ? native.createDeltaInto(index.table, index.base, target, dst)
    : createDeltaJs(index.table, index.base, target, dst);
  return n < 0 ? undefined : Buffer.from(dst.subarray(0, n));
}

class Out {
  p = 0;
  constructor(readonly buf: Uint8Array) {}
  room(): number {
    return this.buf.length - this.p;
  }
  varint(v: number): boolean {
    while (v >= 0x80) {
      if (this.p >= this.buf.length) return false;
      this.buf[this.p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    if (this.p >= this.buf.length) return false;
    this.buf[this.p++] = v;
    return true;
  }
  inserts(data: Uint8Array, from: number, to: number): boolean {
    while (from < to) {
      const n = Math.min(127, to - from);
      if (this.room() < n + 1) return false;
      this.buf[this.p++] = n;
      for (let k = 0; k < n; k++) this.buf[this.p + k] = data[from + k]!;
      this.p += n;
      from += n;
    }
    return true;
  }
  copies(off: number, len: number): boolean {
    while (len > 0) {
      const n = Math.min(MAX_COPY, len);
      const bytes: number[] = [];
      let op = 0x80;
      for (let i = 0; i < 4; i++) {
        const c = Math.floor(off / 2 ** (8 * i)) & 0xff;
        if (c !== 0) {
          op |= 1 << i;
          bytes.push(c);
        }
      }
      if (n !== MAX_COPY) {
        for (let i = 0; i < 3; i++) {
          const c = (n >>> (8 * i)) & 0xff;
          if (c !== 0) {
            op |= 0x10 << i;
            bytes.push(c);
          }
        }
      }
      if (this.room() < bytes.length + 1) return false;
      this.buf[this.p++] = op;
      for (const c of bytes) this.buf[this.p++] = c;
      off += n;
      len -= n;
    }
    return true;
  }
}

/** The JavaScript twin of the native createDeltaInto: the delta's length in `dst`, or -1 when it does not fit. */
export function createDeltaJs(table: Int32Array, base: Uint8Array, t: Uint8Array, dst: Uint8Array): number {
  const o = new Out(dst);
  if (!o.varint(base.length) || !o.varint(t.length)) return -1;
  const bits = table[0]!;
  const ent = 1 + 2 ** bits;
  const tLen = t.length;
  let found = 0;
  let foundPos = 0;
  /** The longest match of the base's indexed blocks at target position `at` (window hash `hash`), into found/foundPos. */
  const search = (hash: number, at: number): void => {
    found = 0;
    foundPos = 0;
    for (let e = table[1 + bucketOf(hash, bits)]!; e >= 0; e = table[ent + 2 * e]!) {
      if (table[ent + 2 * e + 1] !== hash) continue;
      const pos = e * DELTA_WINDOW;
      const max = Math.min(base.length - pos, tLen - at);
      let l = 0;
      while (l < max && base[pos + l] === t[at + l]) l++;
      if (l > found) {
        found = l;
        foundPos = pos;
        if (l === tLen - at) break;
      }
    }
  };
  /** How far the match of target `at` and base `pos` runs back before them, not past target `floor`. */
  const backOver = (at: number, pos: number, floor: number): number => {
    let k = 0;
    while (at - k > floor && pos - k > 0 && base[pos - k - 1] === t[at - k - 1]) k++;
    return k;
  };
  let i = 0;
  let ins = 0;
  let h = tLen >= DELTA_WINDOW ? windowHash(t, 0) : 0;
  while (i + DELTA_WINDOW <= tLen) {
    search(h, i);
    if (found >= MIN_COPY) {
      // The match, extended back over the pending literals.
      let k = backOver(i, foundPos, ins);
      let from = i - k;
      let pos = foundPos - k;
      let end = i + found;
      const first = { from, pos, end };
      // Lazy matching: the base's blocks are indexed at every 16th byte only, so a match that starts at
      // one of the next 15 positions may be another alignment of a longer run. Take it when it covers more
      // (reaches further than it gives up at the start); the first match still copies up to where it begins.
      if (found < LAZY_UNTIL) {
        let hj = h;
        for (let j = i + 1; j < i + DELTA_WINDOW && j + DELTA_WINDOW <= tLen; j++) {
          hj = (Math.imul((hj - Math.imul(t[j - 1]!, POW)) | 0, PRIME) + t[j - 1 + DELTA_WINDOW]!) | 0;
          search(hj, j);
          if (found < MIN_COPY) continue;
          k = backOver(j, foundPos, ins);
          if (j + found - end > j - k - from) {
            from = j - k;
            pos = foundPos - k;
            end = j + found;
          }
        }
      }
      if (from > first.from && from <= first.end && from - first.from >= MIN_SPLIT) {
        if (!o.inserts(t, ins, first.from) || !o.copies(first.pos, from - first.from)) return -1;
      } else if (!o.inserts(t, ins, from)) return -1;
      if (!o.copies(pos, end - from)) return -1;
      i = end;
      ins = i;
      if (i + DELTA_WINDOW <= tLen) h = windowHash(t, i);
    } else {
      const pending = i + 1 - ins;
      if (pending + Math.floor(pending / 127) + 1 > o.room()) return -1;
      if (i + DELTA_WINDOW < tLen) h = (Math.imul((h - Math.imul(t[i]!, POW)) | 0, PRIME) + t[i + DELTA_WINDOW]!) | 0;
      i++;
    }
  }
  if (!o.inserts(t, ins, tLen)) return -1;
  return o.p;
}
