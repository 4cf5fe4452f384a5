/** What a failed run tells the user: what happened, and what to do next. */
import { describe, expect, it } from 'vitest';
import { DeviceLostError, OutOfMemoryError, ShaderCompileError } from '../../../src-engine/core/errors.ts';
import { DivergenceError } from '../../../src-engine/train/index.ts';
import { describeFailure } from '../../../src-main/services/runs/failure.ts';

describe('describeFailure', () => {
  it('out of memory: suggests half the batch size and names the kept checkpoint', () => {
    const f = describeFailure(new OutOfMemoryError(512 * 2 ** 20), { batchSize: 256, lastCheckpoint: 'epoch-3' });
    expect(f.kind).toBe('out-of-memory');
    expect(f.message).toMatch(/^Out of GPU memory while allocating 512\.0 MiB\..*This run uses batch size 256: create a new run with batch size 128 \(or a smaller model\)\. The last good checkpoint \(epoch-3\) is kept\.$/);
  });
  it('lost device: says to resume from the last checkpoint', () => {
    const f = describeFailure(new DeviceLostError('destroyed', 'driver reset'), { batchSize: 64, lastCheckpoint: 'epoch-2' });
    expect(f.kind).toBe('device-lost');
    expect(f.message).toMatch(/^The GPU device was lost \(destroyed: driver reset\)\..* Resume the run to continue from epoch-2\.$/);
  });
  it('divergence: the trainer message plus the kept checkpoint', () => {
    const f = describeFailure(new DivergenceError(120, NaN), { batchSize: 64, lastCheckpoint: null });
    expect(f).toEqual({
      kind: 'diverged',
      message: 'Training diverged: the loss became NaN by step 120. Start a new run with a lower learning rate (try 10× smaller), gradient clipping (clipNorm) or a longer warm-up. No checkpoint was written yet.',
    });
  });
  it('engine bugs and other errors keep their message', () => {
    expect(describeFailure(new ShaderCompileError('k', 'bad'), { batchSize: 1, lastCheckpoint: null }).message).toMatch(/^Kernel 'k' failed to compile: bad\. This is an engine bug/);
    expect(describeFailure(new Error('disk full'), { batchSize: 1, lastCheckpoint: 'epoch-1' }).message).toBe('Training stopped with an error: disk full. The last good checkpoint (epoch-1) is kept.');
  });
});
