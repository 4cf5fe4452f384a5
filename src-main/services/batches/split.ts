/**
 * Stratified dev split and per-epoch order, both pure functions of the run's
 * seed (counter-based RNG), so a resumed run sees the same split and order.
 */
import { CounterRng, shuffleInPlace } from '../augment/rng.ts';

/** Stream ids that keep the split's and the shuffles' random numbers apart. */
const SPLIT_STREAM = 0x5d11;
const ORDER_STREAM = 0x0bde;

export interface DevSplit {
  /** Sorted indices into the split's examples. */
  train: Int32Array;
  dev: Int32Array;
}

/**
 * Takes round(n_c · devFraction) examples of every class c for dev, chosen
 * by a seeded shuffle within the class; the rest stay for training.
 */
export function stratifiedSplit(labels: ArrayLike<number>, numClasses: number, devFraction: number, seed: number): DevSplit {
  if (!(devFraction >= 0 && devFraction < 1)) throw new RangeError(`devFraction must be in [0, 1), got ${devFraction}`);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l >= numClasses) throw new RangeError(`label ${l} at ${i} is outside 0–${numClasses - 1}`);
    byClass[l].push(i);
  }
  const dev: number[] = [];
  const train: number[] = [];
  byClass.forEach((idx, c) => {
    const shuffled = shuffleInPlace(Int32Array.from(idx), new CounterRng(seed, SPLIT_STREAM, c));
    const nDev = Math.round(idx.length * devFraction);
    for (let k = 0; k < shuffled.length; k++) (k < nDev ? dev : train).push(shuffled[k]);
  });
  return { train: Int32Array.from(train).sort(), dev: Int32Array.from(dev).sort() };
}

/** The order of `indices` in `epoch`: a seeded Fisher–Yates shuffle, or unchanged when shuffle is off. */
export function epochOrder(indices: ArrayLike<number>, seed: number, epoch: number, shuffle = true): Int32Array {
  const order = Int32Array.from(indices as ArrayLike<number>);
  return shuffle ? shuffleInPlace(order, new CounterRng(seed, ORDER_STREAM, epoch)) : order;
}
