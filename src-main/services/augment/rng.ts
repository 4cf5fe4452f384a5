/**
 * A counter-based random generator: every draw is a pure function of
 * (seed, stream keys, counter), so the same (seed, epoch, index) gives the
 * same numbers in any process, worker or order — what makes augmentation and
 * shuffling reproducible and resumable. No Math.random anywhere.
 *
 * The mixer is the "lowbias32" integer hash (Chris Wellons, hash-prospector),
 * applied to the key folded with the counter; good enough for augmentation
 * and shuffling, not for cryptography.
 */

export function mix32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Folds several 32-bit keys into one (order matters). */
export function hashKeys(...keys: number[]): number {
  let h = 0x9e3779b9;
  for (const k of keys) h = mix32((h ^ mix32(k >>> 0)) + 0x632be5ab);
  return h >>> 0;
}

export class CounterRng {
  private counter = 0;
  private readonly key: number;

  constructor(seed: number, ...stream: number[]) {
    this.key = hashKeys(seed, ...stream);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    return mix32(this.key ^ mix32(this.counter++ + 0x2545f491));
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return p >= 1 || (p > 0 && this.next() < p);
  }
}

/** Fisher–Yates shuffle of `arr` in place, driven by `rng`. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(arr: T, rng: CounterRng): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  }
  return arr;
}
