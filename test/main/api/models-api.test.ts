/** models.list / models.describe through dispatchCall: JSON-Schema options, layer tables, errors naming the option or layer. */
import { describe, expect, it } from 'vitest';
import { createHandlers, dispatchCall, EventHub } from '../../../src-main/api/services.ts';

const h = createHandlers({ dataDir: '/tmp/layerlab-models-api', host: 'test', hub: new EventHub() });
type Described = { ok: true; rows: { name: string; type: string; outputShape: number[]; params: number }[]; totalParams: number; totalFlops: number } | { ok: false; error: string; layer?: string; option?: string };

describe('model zoo calls', () => {
  it('lists every family with a JSON Schema for its options and defaults', async () => {
    const list = (await dispatchCall(h, 'models.list', {})) as { name: string; defaults: Record<string, unknown>; optionsSchema: { type?: string; properties?: Record<string, unknown> } }[];
    expect(list.map((f) => f.name)).toEqual(['mlp', 'lenet5', 'alexnet', 'resnet', 'rnn', 'gru', 'lstm', 'transformer', 'custom']);
    const mlp = list.find((f) => f.name === 'mlp')!;
    expect(mlp.optionsSchema.type).toBe('object');
    expect(Object.keys(mlp.optionsSchema.properties ?? {})).toEqual(expect.arrayContaining(['hidden', 'activation', 'dropout']));
    expect(mlp.defaults.hidden).toEqual([256, 128]);
  });

  it('describes LeNet-5 on 28×28×1 with the classic 61,706 parameters', async () => {
    const d = (await dispatchCall(h, 'models.describe', { family: 'lenet5', options: {}, input: [1, 28, 28], classes: 10 })) as Described;
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    // conv 1→6 5×5 (156) + conv 6→16 5×5 (2,416) + fc 400→120 (48,120) + 120→84 (10,164) + 84→10 (850)
    expect(d.totalParams).toBe(61_706);
    expect(d.rows.at(-1)!.outputShape).toEqual([10]);
    expect(d.totalFlops).toBeGreaterThan(2 * 400_000);
  });

  it('names the bad option, and the bad layer of a custom stack', async () => {
    const bad = (await dispatchCall(h, 'models.describe', { family: 'resnet', options: { n: -1 }, input: [3, 32, 32], classes: 10 })) as Described;
    expect(bad).toMatchObject({ ok: false, option: 'n' });
    const custom = (await dispatchCall(h, 'models.describe', {
      family: 'custom',
      options: { layers: [{ type: 'flatten' }, { type: 'conv2d', out: 4, kernel: 3 }] },
      input: [3, 32, 32],
      classes: 10,
    })) as Described;
    expect(custom).toEqual({ ok: false, error: 'layers.2 (conv2d): expects an image [C, H, W], got [3072]', layer: 'layers.2' });
  });

  it('rejects a malformed request before any model code runs', async () => {
    await expect(dispatchCall(h, 'models.describe', { family: 'mlp', options: {}, input: [1, 28], classes: 10 })).rejects.toThrow(/Invalid arguments for models.describe: input/);
  });
});
