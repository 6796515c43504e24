// Progress for long commands (add, expand, verify): one line redrawn on stderr at most a few times a
// second when stderr is a terminal, nothing at all otherwise.

export interface ProgressCounts {
  files: number;
  bytes: number;
  /** Optional total of files, for a percentage. */
  totalFiles?: number;
}

const REDRAW_MS = 200;

/** 1.5 MiB, 12 bytes: sizes as the commands print them. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

export class Progress {
  private readonly enabled: boolean;
  private readonly started = Date.now();
  private last = 0;
  readonly counts: ProgressCounts = { files: 0, bytes: 0 };

  constructor(private readonly label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = stream.isTTY === true && process.env.CI === undefined;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  /** Counts one more file of `bytes` bytes. */
  tick(bytes: number): void {
    this.counts.files++;
    this.counts.bytes += bytes;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last >= REDRAW_MS) {
      this.last = now;
      this.draw(now);
    }
  }

  private draw(now: number): void {
    const { files, bytes, totalFiles } = this.counts;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const pct = totalFiles ? ` (${Math.floor((100 * files) / totalFiles)}%)` : '';
    this.stream.write(`\r${this.label}: ${files}${totalFiles ? `/${totalFiles}` : ''} files${pct}, ${formatBytes(bytes)}, ${formatBytes(Math.round(bytes / secs))}/s\x1b[K`);
  }

  /** Clears the line (the command prints its own summary). */
  done(): void {
    if (this.enabled) this.stream.write('\r\x1b[K');
  }
}
