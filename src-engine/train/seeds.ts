/**
 * The engine's random-seed position, for checkpoints.
 *
 * Random ops not given a seed (dropout in a model's forward) draw stream ids
 * from `engine.nextSeed()`: a deterministic sequence given the engine's seed
 * and how many were drawn. A resumed run must continue that sequence where
 * the checkpoint left it. `SeedTracker` counts the draws (it wraps the
 * engine's method on this instance) and `advanceTo` replays the count on a
 * fresh engine with the same seed, so nothing about the engine's internals
 * is assumed beyond "same seed + same count → same next value".
 */
import type { Engine } from '../core/engine.ts';
import { EngineError } from '../core/errors.ts';

export class SeedTracker {
  private drawn = 0;

  constructor(readonly engine: Engine) {
    const original = engine.nextSeed.bind(engine);
    engine.nextSeed = (): number => {
      this.drawn++;
      return original();
    };
  }

  /** Seeds drawn from the engine since the tracker was attached. */
  get count(): number {
    return this.drawn;
  }

  /** Draws (and discards) seeds until `count` have been drawn: the sequence then continues as it did. */
  advanceTo(count: number): void {
    if (!Number.isInteger(count) || count < this.drawn) {
      throw new EngineError(`SeedTracker: cannot move the seed sequence back from ${this.drawn} to ${count} (attach the tracker to a fresh engine).`);
    }
    while (this.drawn < count) this.engine.nextSeed();
  }
}
