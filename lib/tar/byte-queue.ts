// Bytes pulled from an async iterator of chunks on demand: the tar reader asks for exact lengths, the
// send protocol (lib/silo/wire.ts) for lines and byte runs, and neither holds more than what it asked
// for plus one chunk (a line: at most its bound plus one chunk).

export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Read offset into chunks[0]. */
  private first = 0;
  private ended = false;
  /** Bytes pulled but not yet consumed. */
  buffered = 0;
  /** Bytes consumed since the start of the stream. */
  position = 0;

  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done === true) {
      this.ended = true;
      return false;
    }
    const c = r.value;
    if (c.length > 0) {
      this.chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length));
      this.buffered += c.length;
    }
    return true;
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) if (!(await this.pull())) return false;
    return true;
  }

  /** Consumes up to `n` buffered bytes, passing each piece to `sink`; returns how many. */
  private consume(n: number, sink?: (piece: Buffer) => void): number {
    let done = 0;
    while (done < n && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.first, n - done);
      sink?.(c.subarray(this.first, this.first + k));
      this.first += k;
      done += k;
      if (this.first === c.length) {
        this.chunks.shift();
        this.first = 0;
      }
    }
    this.buffered -= done;
    this.position += done;
    return done;
  }

  /** Exactly `n` bytes (a view when they sit in one chunk), or undefined, consuming nothing, when the stream ends first. */
  async readExact(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const c = this.chunks[0];
    if (c !== undefined && c.length - this.first >= n) {
      const view = c.subarray(this.first, this.first + n);
      this.consume(n);
      return view;
    }
    return this.readOwned(n);
  }

  /**
   * Exactly `n` bytes in a buffer that owns its memory (never a slice of Node's shared pool, so it may be
   * transferred to a worker), allocated only once all of them have arrived; undefined when the stream ends first.
   */
  async readOwned(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const out = Buffer.allocUnsafeSlow(n);
    let at = 0;
    this.consume(n, (piece) => {
      piece.copy(out, at);
      at += piece.length;
    });
    return out;
  }

  /** Passes the next `n` bytes to `sink` piece by piece as they arrive; returns how many (fewer when the stream ends first). */
  async forward(n: number, sink?: (piece: Buffer) => void): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.pull())) break;
      left -= this.consume(left, sink);
    }
    return n - left;
  }

  /** Consumes `n` bytes without keeping them; false when the stream ends first. */
  async skip(n: number): Promise<boolean> {
    return (await this.forward(n)) === n;
  }

  /**
   * The bytes up to the next newline (which is consumed, not returned); 'end' when the stream ends first,
   * 'too-long' when `max` bytes have come without one.
   */
  async readLine(max: number): Promise<Buffer | 'end' | 'too-long'> {
    let scanned = 0; // bytes of the buffered chunks already searched
    for (;;) {
      let skip = scanned;
      let at = 0; // bytes before the chunk being searched
      for (let i = 0; i < this.chunks.length; i++) {
        const start = i === 0 ? this.first : 0;
        const len = this.chunks[i]!.length - start;
        if (skip < len) {
          const nl = this.chunks[i]!.indexOf(10, start + skip);
          if (nl >= 0) {
            const line = (await this.readExact(at + nl - start))!;
            this.consume(1);
            return line;
          }
        }
        skip = Math.max(0, skip - len);
        at += len;
      }
      scanned = this.buffered;
      if (scanned > max) return 'too-long';
      if (!(await this.pull())) return 'end';
    }
  }

  /** Reads and discards everything left. */
  async drain(): Promise<void> {
    this.consume(this.buffered);
    while (await this.pull()) this.consume(this.buffered);
  }

  /** Stops the source early (a decompressor child is killed, a file closed). */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.it.return?.();
  }
}
