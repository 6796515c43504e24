// Worker pools (piscina), loaded on first use: most runs of a command start none (small inputs are done
// on the calling thread), and loading piscina was ~10 ms of every start-up.
import { createRequire } from 'node:module';
import type { Piscina } from 'piscina';

export type Pool = Piscina;
type PoolOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;

let PiscinaClass: typeof Piscina | undefined;

export function startPool(options: PoolOptions): Pool {
  PiscinaClass ??= (createRequire(import.meta.url)('piscina') as { Piscina: typeof Piscina }).Piscina;
  return new PiscinaClass(options);
}
