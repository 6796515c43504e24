// A sidecar's "paths" held compactly, and read without building them as JSON objects first.
//
// As JSON.parse gives them, the Linux tree's 83,731 entries are an object of that many keys with an array
// of numbers each: ~16 MB of heap kept for the life of a mount, and ~27 MB more while parsing. A PathIndex
// keeps all the paths in one string, the numbers in typed arrays and a hash table of entry numbers (~6 MB),
// and PathIndex.scan fills it straight from the sidecar's bytes. It takes only the shape medo writes (any
// whitespace, member order and string escapes): anything else it leaves to JSON.parse.
import type { JsonChecker } from './json-check.js';
import type { MetaEntry } from './meta.js';

/** What is wrong with an entry, by the code a PathIndex keeps for it (0: nothing). */
const ENTRY_FAULTS = ['', 'is not a clean relative path', 'must be [perm, mtime] or [perm, mtime, nsec]', 'has a bad permission',
  'has a bad mtime', 'has bad nanoseconds', 'must be the index of an entry of "attrs"'];
const FAULT_SHAPE = 2;
const FAULT_REF = 6;
/** Columns.counts of a value that is a number: in version 2, an index into "attrs". */
const REF = -2;

/**
 * Entries as they are collected: a path and, for version 1, up to three numbers each; for version 2,
 * the index of its "attrs" entry (the fault is found when built).
 */
export class Columns {
  readonly keys: string[] = [];
  readonly values: number[] = [];
  /** How many numbers each entry's array has (2 or 3 are right), REF for a lone number, -1 for anything else. */
  readonly counts: number[] = [];

  add(key: string, value: unknown): void {
    this.keys.push(key);
    if (typeof value === 'number') {
      this.counts.push(REF);
      this.values.push(value, NaN, NaN);
      return;
    }
    const v: unknown[] = Array.isArray(value) ? value : [];
    this.counts.push(Array.isArray(value) ? v.length : -1);
    // What is not a number fails the check of its place (NaN is no integer).
    for (let k = 0; k < 3; k++) this.values.push(typeof v[k] === 'number' ? v[k] as number : NaN);
  }
}

/** The fault code (ENTRY_FAULTS) of [perm, sec, nsec] with `count` numbers given; 0 when it is right. */
function tupleFault(count: number, p: number, s: number, ns: number): number {
  if (count < 2 || count > 3) return FAULT_SHAPE;
  if (!Number.isInteger(p) || p < 0 || p > 0o7777) return 3;
  if (!Number.isSafeInteger(s)) return 4;
  if (!Number.isInteger(ns) || ns < 0 || ns > 999_999_999) return 5;
  return 0;
}

export class PathIndex {
  private constructor(
    private readonly all: string,
    /** Entry i's path is all.slice(starts[i], starts[i + 1]). */
    private readonly starts: Int32Array,
    private readonly perm: Uint16Array,
    private readonly sec: Float64Array,
    private readonly nsec: Uint32Array,
    /** ENTRY_FAULTS index per entry. */
    private readonly fault: Uint8Array,
    /** Open addressing: entry number + 1, 0 for an empty slot; the size is a power of two. */
    private readonly table: Int32Array,
    private readonly checker: JsonChecker,
  ) {}

  get count(): number {
    return this.perm.length;
  }

  /** From a parsed "paths" object (JSON.parse makes every key an own property, "__proto__" too). */
  static fromObject(paths: Record<string, unknown>, attrs: Columns | undefined, checker: JsonChecker, checkPath: (p: string) => boolean): PathIndex {
    const cols = new Columns();
    for (const key of Object.keys(paths)) cols.add(key, paths[key]);
    return PathIndex.build(cols, attrs, checker, checkPath);
  }

  /** Version 2's "attrs" (an array of [perm, mtime, nsec?]) as Columns, for build(); undefined when it is not an array. */
  static attrsOf(attrs: unknown): Columns | undefined {
    if (!Array.isArray(attrs)) return undefined;
    const cols = new Columns();
    for (const a of attrs as unknown[]) cols.add('', typeof a === 'number' ? [] : a);
    return cols;
  }

  /**
   * The index of `cols`: for version 1 (`attrs` undefined) each value is its own [perm, mtime, nsec?];
   * for version 2 each is the index of its entry of `attrs`.
   */
  static build(cols: Columns, attrs: Columns | undefined, checker: JsonChecker, checkPath: (p: string) => boolean): PathIndex {
    const { keys, counts } = cols;
    let values = cols.values;
    if (attrs !== undefined) {
      // Each path takes its attrs entry's numbers (and faults): resolved here, the rest is as version 1.
      values = new Array<number>(values.length);
      const shapes = new Array<number>(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const ref = cols.values[3 * i]!;
        const ok = counts[i] === REF && Number.isInteger(ref) && ref >= 0 && ref < attrs.counts.length;
        shapes[i] = ok ? attrs.counts[ref]! : REF;
        for (let k = 0; k < 3; k++) values[3 * i + k] = ok ? attrs.values[3 * ref + k]! : NaN;
      }
      return PathIndex.fill(keys, values, shapes, true, checker, checkPath);
    }
    return PathIndex.fill(keys, values, counts, false, checker, checkPath);
  }

  private static fill(keys: string[], values: number[], counts: number[], v2: boolean, checker: JsonChecker, checkPath: (p: string) => boolean): PathIndex {
    const n = keys.length;
    const starts = new Int32Array(n + 1);
    const perm = new Uint16Array(n);
    const sec = new Float64Array(n);
    const nsec = new Uint32Array(n);
    const fault = new Uint8Array(n);
    let size = 16;
    while (size < n * 2) size *= 2;
    const table = new Int32Array(size);
    const all = keys.join('');
    let at = 0;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      starts[i] = at;
      at += key.length;
      const p = values[3 * i]!;
      const s = values[3 * i + 1]!;
      const ns = counts[i] === 3 ? values[3 * i + 2]! : 0;
      if (!checkPath(key)) fault[i] = 1;
      else if (counts[i] === REF) fault[i] = v2 ? FAULT_REF : FAULT_SHAPE;
      else fault[i] = tupleFault(counts[i]!, p, s, ns);
      if (fault[i] === 0) {
        perm[i] = p;
        sec[i] = s;
        nsec[i] = ns;
      }
      // A key given twice (JSON allows it): the later entry answers, as with JSON.parse.
      const mask = size - 1;
      let slot = hashOf(key) & mask;
      for (; table[slot] !== 0; slot = (slot + 1) & mask) {
        const j = table[slot]! - 1;
        if (starts[j + 1]! - starts[j]! === key.length && all.startsWith(key, starts[j]!)) break;
      }
      table[slot] = i + 1;
    }
    starts[n] = at;
    return new PathIndex(all, starts, perm, sec, nsec, fault, table, checker);
  }

  /** The entry number of `path`, or -1. */
  find(path: string): number {
    const mask = this.table.length - 1;
    for (let slot = hashOf(path) & mask; ; slot = (slot + 1) & mask) {
      const i = this.table[slot]! - 1;
      if (i < 0) return -1;
      const start = this.starts[i]!;
      if (this.starts[i + 1]! - start === path.length && this.all.startsWith(path, start)) return i;
    }
  }

  pathAt(i: number): string {
    return this.all.slice(this.starts[i]!, this.starts[i + 1]!);
  }

  /** Entry i, or ERR_OBJECT_CORRUPT naming its path and what is wrong with it. */
  entry(i: number): MetaEntry {
    const f = this.fault[i]!;
    if (f !== 0) this.checker.fail(`paths.${this.pathAt(i)}`, ENTRY_FAULTS[f]!);
    return { perm: this.perm[i]!, mtimeSec: this.sec[i]!, mtimeNsec: this.nsec[i]! };
  }

  /**
   * A sidecar read from its bytes: the "paths" entries (undefined when "paths" is missing or not an
   * object), "attrs" as Columns when it is an array of arrays, and the other top-level members parsed.
   * Undefined when the bytes are not of the shape medo writes (an object whose "paths" member is an
   * object of arrays of numbers or of numbers) or not valid JSON: the caller then parses them with
   * JSON.parse, which names what is wrong.
   */
  static scan(bytes: Uint8Array): { paths: Columns | undefined; members: Record<string, unknown> } | undefined {
    const s = new Scanner(bytes);
    try {
      const members: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      let paths: Columns | undefined;
      s.expect(0x7b); // {
      if (!s.take(0x7d)) {
        do {
          const name = s.string();
          s.expect(0x3a); // :
          if (name === 'paths' && s.peek() === 0x7b) {
            paths = s.paths();
          } else if (name === 'attrs' && s.peek() === 0x5b) {
            members.attrs = s.tuples();
          } else {
            // A member given twice: the later one counts, as with JSON.parse.
            if (name === 'paths') paths = undefined;
            members[name] = JSON.parse(s.value());
          }
        } while (s.take(0x2c)); // ,
        s.expect(0x7d);
      }
      s.end();
      return { paths, members };
    } catch (e) {
      // Bad JSON (SyntaxError), nesting too deep for the stack (RangeError): JSON.parse reports it.
      if (e === NOT_OURS || e instanceof SyntaxError || e instanceof RangeError) return undefined;
      throw e;
    }
  }
}

/** Thrown inside a scan for anything it does not take: the caller falls back to JSON.parse. */
const NOT_OURS = new Error('not the shape medo writes');

class Scanner {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(private readonly b: Uint8Array) {
    this.buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  }

  private ws(): void {
    const b = this.b;
    let c = b[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++this.pos];
  }

  peek(): number | undefined {
    this.ws();
    return this.b[this.pos];
  }

  take(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  expect(c: number): void {
    if (!this.take(c)) throw NOT_OURS;
  }

  end(): void {
    this.ws();
    if (this.pos !== this.b.length) throw NOT_OURS;
  }

  /** A JSON string: decoded by hand when plain ASCII, by JSON.parse when it has escapes or other bytes. */
  string(): string {
    this.expect(0x22);
    const b = this.b;
    const start = this.pos;
    let plain = true;
    for (;;) {
      const c = b[this.pos++];
      if (c === undefined || c < 0x20) throw NOT_OURS;
      if (c === 0x22) break;
      if (c === 0x5c) {
        plain = false;
        this.pos++;
      } else if (c >= 0x80) {
        plain = false;
      }
    }
    const end = this.pos - 1;
    if (plain) return this.buf.toString('latin1', start, end);
    return JSON.parse(this.buf.toString('utf8', start - 1, end + 1)) as string;
  }

  /** The text of any JSON value, for JSON.parse to check and convert. */
  value(): string {
    this.ws();
    const start = this.pos;
    this.skip();
    return this.buf.toString('utf8', start, this.pos);
  }

  private skip(): void {
    const c = this.peek();
    if (c === 0x22) {
      this.string();
    } else if (c === 0x7b || c === 0x5b) {
      const close = c === 0x7b ? 0x7d : 0x5d;
      this.pos++;
      if (this.take(close)) return;
      do {
        if (c === 0x7b) {
          this.string();
          this.expect(0x3a);
        }
        this.skip();
      } while (this.take(0x2c));
      this.expect(close);
    } else {
      // A number or a literal: up to the next delimiter.
      const b = this.b;
      const start = this.pos;
      for (let d = b[this.pos]; d !== undefined && !DELIMITERS.has(d); d = b[++this.pos]);
      if (this.pos === start) throw NOT_OURS;
    }
  }

  /** A number as JSON writes one; anything else is not ours. */
  private number(): number {
    this.ws();
    const b = this.b;
    const start = this.pos;
    // The usual case by hand: digits only, no leading zero, few enough to be exact.
    let n = 0;
    let c = b[this.pos];
    while (c !== undefined && c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      c = b[++this.pos];
    }
    const digits = this.pos - start;
    if (digits > 0 && digits <= 15 && (digits === 1 || b[start] !== 0x30) && c !== 0x2e && c !== 0x65 && c !== 0x45) return n;
    while (c !== undefined && ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45)) c = b[++this.pos];
    if (this.pos === start) throw NOT_OURS;
    // JSON.parse checks the grammar (no leading zeros, no "1."): a number it refuses is not ours.
    return JSON.parse(this.buf.toString('latin1', start, this.pos)) as number;
  }

  /** An array of numbers, into `nums` (emptied first). */
  private numbers(nums: number[]): number[] {
    this.expect(0x5b);
    nums.length = 0;
    if (!this.take(0x5d)) {
      do nums.push(this.number());
      while (this.take(0x2c));
      this.expect(0x5d);
    }
    return nums;
  }

  /** Version 2's "attrs": an array of arrays of numbers. */
  tuples(): Columns {
    const cols = new Columns();
    this.expect(0x5b);
    if (this.take(0x5d)) return cols;
    const nums: number[] = [];
    do cols.add('', this.numbers(nums));
    while (this.take(0x2c));
    this.expect(0x5d);
    return cols;
  }

  /** The "paths" object: each member a path and an array of numbers (version 1) or one number (version 2). */
  paths(): Columns {
    const cols = new Columns();
    this.expect(0x7b);
    if (this.take(0x7d)) return cols;
    const nums: number[] = [];
    do {
      const key = this.string();
      this.expect(0x3a);
      cols.add(key, this.peek() === 0x5b ? this.numbers(nums) : this.number());
    } while (this.take(0x2c));
    this.expect(0x7d);
    return cols;
  }
}

/** What ends a number or a literal: , } ] and whitespace. */
const DELIMITERS = new Set([0x2c, 0x7d, 0x5d, 0x20, 0x0a, 0x0d, 0x09]);

/** FNV-1a over UTF-16 code units. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
