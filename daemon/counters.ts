// What `medo status` reports per mount: FUSE operations by kind, bytes served, errors. Plain numbers bumped
// on the JS thread that serves every op (fuse-ops.ts), so no locking; read by the daemon on a status request.
export class MountCounters {
  readonly ops: Record<string, number> = {};
  bytesRead = 0;
  /** Requests answered EIO: a damaged or missing object, or a bug. */
  errors = 0;

  /** Counts kept elsewhere (the FUSE addon's pushes into the page cache), read when a status is asked for. */
  sampled: (() => Record<string, number>) | undefined;

  op(kind: string): void {
    this.ops[kind] = (this.ops[kind] ?? 0) + 1;
  }

  /** The ops by kind, sampled counts included. */
  opsNow(): Record<string, number> {
    return { ...this.ops, ...this.sampled?.() };
  }
}
