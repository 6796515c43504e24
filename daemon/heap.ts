// A mount server's young generation, kept small. V8 grows the new space (where objects start) up to
// 2 x 16 MiB on 64-bit hosts whenever many objects survive a scavenge, as they do while a mount fills its
// caches; for the daemon that was 80 MB of its peak RSS serving the Linux tree (332 MB -> 250 MB with a
// 1 MiB semi-space, docs/benchmarks.md), at no measurable cost in throughput: what a read allocates dies
// young.
//
// --max-semi-space-size only takes effect on the command line, and the daemon also runs as
// `medo mount --foreground` inside the medo CLI. The growth factor is read each time the new space
// would grow, so setting it to 1 at start-up, before the first growth, keeps the new space at its
// initial size.
import { setFlagsFromString } from 'node:v8';

let done = false;

export function keepYoungGenerationSmall(): void {
  if (done || process.env.MEDO_LARGE_YOUNG_GENERATION === '1') return;
  done = true;
  setFlagsFromString('--semi-space-growth-factor=1');
}
