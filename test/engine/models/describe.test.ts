/**
 * The layer graph without a GPU: every family compiles at 28×28×1 and
 * 32×32×3 with known parameter counts (worked out by hand below), options are
 * validated with messages that name the option, custom stacks report shape
 * errors that name the layer and the mismatch, and the layer table lines up.
 */
import { describe, expect, it } from 'vitest';
import {
  compileModel,
  describeGraph,
  FAMILY_NAMES,
  formatLayerTable,
  MODEL_FAMILIES,
  ModelConfigError,
  parseGraph,
  type LayerSpecInput,
} from '../../../src-engine/models/index.ts';

const MNIST: [number, number, number] = [1, 28, 28];
const CIFAR: [number, number, number] = [3, 32, 32];
const params = (family: string, options: object, input = CIFAR, classes = 10): number =>
  describeGraph(compileModel(family, options, input, classes)).totalParams;
const errorOf = (fn: () => unknown): ModelConfigError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelConfigError);
    return e as ModelConfigError;
  }
  throw new Error('expected a ModelConfigError');
};

describe('describeGraph: parameter counts per family', () => {
  it('LeNet-5 (modern and classic) on 28×28×1 and 32×32×3', () => {
    // 28×28×1, conv1 padding 2 ('auto'): 28 → conv5 p2 → 28 → pool → 14 → conv5 → 10 → pool → 5.
    //   conv1 6·(1·5·5) + 6 = 156;  conv2 16·(6·5·5) + 16 = 2,416;  fc1 400·120 + 120 = 48,120;
    //   fc2 120·84 + 84 = 10,164;   fc3 84·10 + 10 = 850  →  61,706.
    expect(params('lenet5', {}, MNIST)).toBe(156 + 2416 + 48120 + 10164 + 850);
    expect(params('lenet5', {}, MNIST)).toBe(61706);
    expect(params('lenet5', { variant: 'classic1998' }, MNIST)).toBe(61706);
    // 32×32×3, padding 0: 32 → 28 → 14 → 10 → 5; conv1 6·75 + 6 = 456 → 62,006.
    expect(params('lenet5', {}, CIFAR)).toBe(456 + 2416 + 48120 + 10164 + 850);
    const d = describeGraph(compileModel('lenet5', {}, MNIST, 10));
    // FLOPs = 2·MACs: conv1 6·28·28·25, conv2 16·10·10·150, fc 400·120 + 120·84 + 84·10.
    expect(d.totalFlops).toBe(2 * (6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10));
    expect(d.rows.find((r) => r.name === 'layers.7')?.outputShape).toEqual([400]);
  });

  it('CIFAR ResNet-20 / ResNet-56 (options A and B, plain) and ResNet-18', () => {
    // ResNet-20, option A: conv1 3·9·16 = 432 + BN 32; stage 1: 3 blocks × (2·16·16·9 + 2·32) = 14,016;
    // stage 2: (16·32·9 + 32·32·9 + 128) + 2·(2·32·32·9 + 128) = 13,952 + 37,120;
    // stage 3: (32·64·9 + 64·64·9 + 256) + 2·(2·64·64·9 + 256) = 55,552 + 147,968; fc 64·10 + 10 = 650.
    const r20a = 432 + 32 + 14016 + 13952 + 37120 + 55552 + 147968 + 650;
    expect(r20a).toBe(269722);
    expect(params('resnet', { n: 3, shortcut: 'A' })).toBe(r20a); // "0.27M"
    // Option B adds two projections: 16·32 + BN 64 = 576 and 32·64 + BN 128 = 2,176 → 272,474.
    expect(params('resnet', { n: 3, shortcut: 'B' })).toBe(r20a + 576 + 2176);
    expect(params('resnet', { n: 3, plain: true })).toBe(r20a);
    const r56 = params('resnet', { n: 9 });
    expect(r56).toBe(853018); // "0.85M"
    expect(params('resnet', { n: 9, plain: true })).toBe(r56);
    expect(params('resnet', {}, MNIST)).toBe(r20a - 432 + 144); // conv1 1·9·16
    // ResNet-18 for 32 px (projection shortcuts): the well-known 11,173,962.
    expect(params('resnet', { variant: 'resnet18' })).toBe(11173962);
    expect(params('resnet', { variant: 'resnet18' }, MNIST)).toBe(11173962 - 1728 + 576);
    const d = describeGraph(compileModel('resnet', { n: 3 }, CIFAR, 10));
    expect(d.rows.filter((r) => r.type === 'residual')).toHaveLength(9);
    expect(d.rows.filter((r) => r.type === 'conv2d')).toHaveLength(19); // + the fc = 20 weighted layers
    expect(d.rows.at(-4)?.outputShape).toEqual([64, 8, 8]);
  });

  it('MLP, AlexNet-style (with ablations), RNN/GRU/LSTM, ViT and custom', () => {
    // MLP [256, 128]: 784·256 + 256 + 256·128 + 128 + 128·10 + 10.
    expect(params('mlp', {}, MNIST)).toBe(200960 + 32896 + 1290);
    expect(params('mlp', { hidden: [] }, CIFAR)).toBe(3072 * 10 + 10);
    // AlexNet-style, 32 px: conv 3·25·64+64, 64·25·192+192, 192·9·384+384, 384·9·256+256, 256·9·256+256;
    // pools 32 → 15 → 7 → 3: fc6 2304·1024+1024, fc7 1024·1024+1024, fc8 1024·10+10.
    const convs = 4864 + 307392 + 663936 + 884992 + 590080;
    expect(params('alexnet', {})).toBe(convs + 2360320 + 1049600 + 10250);
    // 28 px: 28 → 13 → 6 → 2, so fc6 reads 256·2·2 = 1024 features; conv1 has 1 input channel.
    expect(params('alexnet', {}, MNIST)).toBe(convs - 3200 + 1049600 + 1049600 + 10250);
    expect(params('alexnet', { removeConv34: true })).toBe(convs - 663936 - 884992 - 590080 + (192 * 9 * 256 + 256) + 2360320 + 1049600 + 10250);
    expect(params('alexnet', { removeFc67: true })).toBe(convs + 2304 * 10 + 10);
    expect(params('alexnet', { batchnorm: true })).toBe(convs - (64 + 192 + 384 + 256 + 256) + 2 * (64 + 192 + 384 + 256 + 256) + 2360320 + 1049600 + 10250);
    // Recurrent on 28×28×1: T = 28 rows of F = 28; one layer of G gates = G·(128·28 + 128·128 + 2·128), + fc 1,290.
    const layer = 128 * 28 + 128 * 128 + 256;
    expect(params('rnn', {}, MNIST)).toBe(layer + 1290);
    expect(params('gru', {}, MNIST)).toBe(3 * layer + 1290);
    expect(params('lstm', {}, MNIST)).toBe(4 * layer + 1290);
    // 32×32×3: F = 3·32 = 96; bidirectional 2 layers: layer 1 reads 2·H.
    const H = 32;
    expect(params('gru', { hidden: H, layers: 2, bidirectional: true })).toBe(2 * 3 * (H * 96 + H * H + 2 * H) + 2 * 3 * (H * 2 * H + H * H + 2 * H) + (2 * H * 10 + 10));
    // ViT 32 px, patch 4 → 64 tokens (+cls), width 64, mlp 128, depth 4.
    const block = 2 * 64 + (3 * 64 * 64 + 3 * 64) + (64 * 64 + 64) + 2 * 64 + (128 * 64 + 128) + (64 * 128 + 64);
    expect(params('transformer', {})).toBe(64 * 48 + 64 + 64 + 65 * 64 + 4 * block + 128 + 650);
    expect(params('transformer', { pooling: 'mean', positions: 'sinusoidal' })).toBe(64 * 48 + 64 + 4 * block + 128 + 650);
    expect(params('custom', {}, MNIST)).toBe(7850);
  });

  it('every family compiles at 28×28×1 and 32×32×3 with consistent totals', () => {
    for (const name of FAMILY_NAMES) {
      for (const input of [MNIST, CIFAR]) {
        const g = compileModel(name, {}, input, 10);
        const d = describeGraph(g);
        expect(g.layers[0].type, name).toBe('normalize');
        expect(d.outputShape).toEqual([10]);
        const top = d.rows.filter((r) => r.depth === 0);
        expect(top.reduce((a, r) => a + r.params, 0)).toBe(d.totalParams);
        expect(top.reduce((a, r) => a + r.flops, 0)).toBe(d.totalFlops);
        expect(d.parameters.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0)).toBe(d.totalParams);
        expect(new Set(d.parameters.map((p) => p.name)).size).toBe(d.parameters.length);
        expect(d.totalFlops).toBeGreaterThan(0);
        // The graph is plain JSON and round-trips through the schema.
        expect(parseGraph(JSON.parse(JSON.stringify(g)))).toEqual(g);
      }
      const f = MODEL_FAMILIES[name];
      expect(f.title.length && f.description.length && f.teaches.length).toBeGreaterThan(0);
      for (const k of Object.keys(f.defaults)) expect(f.optionHelp[k], `${name}.${k} help`).toBeTruthy();
    }
  });
});

describe('parameter names are PyTorch state_dict keys', () => {
  it('ResNet option B: body, shortcut projection and BN buffers', () => {
    const d = describeGraph(compileModel('resnet', { n: 1, shortcut: 'B' }, CIFAR, 10));
    const names = d.parameters.map((p) => p.name);
    expect(names.slice(0, 3)).toEqual(['layers.1.weight', 'layers.2.weight', 'layers.2.bias']);
    expect(names).toContain('layers.5.body.0.weight');
    expect(names).toContain('layers.5.shortcut.0.weight');
    expect(names).toContain('layers.5.shortcut.1.bias');
    expect(names.at(-1)).toBe('layers.9.bias');
    expect(d.buffers.slice(0, 3).map((b) => b.name)).toEqual(['layers.2.running_mean', 'layers.2.running_var', 'layers.2.num_batches_tracked']);
    expect(d.parameters.find((p) => p.name === 'layers.5.shortcut.0.weight')?.shape).toEqual([32, 16, 1, 1]);
  });

  it('LSTM (bidirectional, 2 layers) and transformer blocks', () => {
    const lstm = describeGraph(compileModel('lstm', { hidden: 8, layers: 2, bidirectional: true }, MNIST, 10)).parameters;
    expect(lstm.map((p) => p.name).slice(0, 8)).toEqual([
      'layers.1.weight_ih_l0', 'layers.1.weight_hh_l0', 'layers.1.bias_ih_l0', 'layers.1.bias_hh_l0',
      'layers.1.weight_ih_l0_reverse', 'layers.1.weight_hh_l0_reverse', 'layers.1.bias_ih_l0_reverse', 'layers.1.bias_hh_l0_reverse',
    ]);
    expect(lstm.find((p) => p.name === 'layers.1.weight_ih_l1')?.shape).toEqual([32, 16]);
    const vit = describeGraph(compileModel('transformer', { depth: 1, width: 16, heads: 2 }, MNIST, 10)).parameters;
    expect(vit.map((p) => p.name)).toEqual([
      'layers.1.proj.weight', 'layers.1.proj.bias', 'layers.2.cls', 'layers.3.pos',
      'layers.4.ln1.weight', 'layers.4.ln1.bias', 'layers.4.attn.in_proj_weight', 'layers.4.attn.in_proj_bias',
      'layers.4.attn.out_proj.weight', 'layers.4.attn.out_proj.bias', 'layers.4.ln2.weight', 'layers.4.ln2.bias',
      'layers.4.mlp.0.weight', 'layers.4.mlp.0.bias', 'layers.4.mlp.2.weight', 'layers.4.mlp.2.bias',
      'layers.5.weight', 'layers.5.bias', 'layers.7.weight', 'layers.7.bias',
    ]);
    expect(vit.find((p) => p.name === 'layers.3.pos')?.shape).toEqual([1, 50, 16]);
  });

  it('concat branches nest as branches.<b>.<j>', () => {
    const layers: LayerSpecInput[] = [
      { type: 'concat', branches: [[{ type: 'conv2d', out: 2, kernel: 1 }], [{ type: 'conv2d', out: 3, kernel: 3, padding: 1 }, { type: 'batchnorm' }]] },
      { type: 'globalavgpool' }, { type: 'flatten' }, { type: 'linear', out: 10 },
    ];
    const d = describeGraph(compileModel('custom', { layers }, MNIST, 10));
    expect(d.parameters.map((p) => p.name)).toEqual([
      'layers.1.branches.0.0.weight', 'layers.1.branches.0.0.bias', 'layers.1.branches.1.0.weight', 'layers.1.branches.1.0.bias',
      'layers.1.branches.1.1.weight', 'layers.1.branches.1.1.bias', 'layers.4.weight', 'layers.4.bias',
    ]);
    expect(d.rows.find((r) => r.name === 'layers.1')?.outputShape).toEqual([5, 28, 28]);
  });
});

describe('option validation', () => {
  const cases: Array<[string, object, RegExp]> = [
    ['resnet', { n: 0 }, /option 'n'/],
    ['resnet', { n: 2.5 }, /option 'n'/],
    ['resnet', { shortcut: 'C' }, /option 'shortcut'/],
    ['mlp', { hidden: [64, -1] }, /option 'hidden\.1'/],
    ['mlp', { hiden: [3] }, /unknown option 'hiden'/],
    ['mlp', { activation: 'swish' }, /option 'activation'/],
    ['mlp', { dropout: 1 }, /option 'dropout'/],
    ['lenet5', { variant: 'lenet4' }, /option 'variant'/],
    ['alexnet', { width: 100 }, /option 'width'/],
    ['alexnet', { removeFc67: 'yes' }, /option 'removeFc67'/],
    ['rnn', { hidden: 1e6 }, /option 'hidden'/],
    ['lstm', { dropout: 0.3 }, /option 'dropout'.*layers ≥ 2/],
    ['gru', { nonlinearity: 'relu' }, /unknown option 'nonlinearity'/],
    ['transformer', { width: 66, heads: 4 }, /option 'heads': must divide width/],
    ['transformer', { depth: 1000 }, /option 'depth'/],
    ['transformer', { init: 'lecun' }, /option 'init'/],
  ];
  it.each(cases)('%s %j is rejected naming the option', (family, options, re) => {
    const e = errorOf(() => compileModel(family, options, MNIST, 10));
    expect(e.message).toMatch(re);
    expect(e.message.startsWith(family)).toBe(true);
  });

  it('options that do not fit the input name the layer', () => {
    expect(errorOf(() => compileModel('transformer', { patch: 5 }, MNIST, 10)).message).toMatch(/28×28×1 input: layers\.1 \(patchembed\): patch 5 must divide the image size 28×28/);
    expect(errorOf(() => compileModel('lenet5', {}, [1, 8, 8], 10)).message).toMatch(/layers\.4 \(conv2d\): kernel 5×5 is larger than its padded input 4×4/);
  });

  it('unknown families, bad inputs and normalisation stats', () => {
    expect(errorOf(() => compileModel('vgg', {}, MNIST, 10)).message).toMatch(/Unknown model 'vgg'.*lenet5/);
    expect(errorOf(() => compileModel('mlp', {}, [28, 28], 10)).message).toMatch(/input must be \[C, H, W\]/);
    expect(errorOf(() => compileModel('mlp', {}, MNIST, 1)).message).toMatch(/classes/);
    expect(errorOf(() => compileModel('mlp', {}, CIFAR, 10, { mean: [0.1, 0.2] })).message).toMatch(/mean needs 3 values/);
    const g = compileModel('mlp', {}, CIFAR, 10, { mean: [0.49, 0.48, 0.45], std: [0.25] });
    expect(g.layers[0]).toEqual({ type: 'normalize', mean: [0.49, 0.48, 0.45], std: [0.25, 0.25, 0.25] });
  });
});

describe('custom stacks: errors name the layer and the mismatch', () => {
  const custom = (layers: unknown[], input = MNIST, classes = 10): ModelConfigError => errorOf(() => compileModel('custom', { layers }, input, classes));

  it('linear fed the wrong width', () => {
    const e = custom([{ type: 'flatten' }, { type: 'linear', in: 400, out: 10 }]);
    expect(e.message).toBe('layers.2 (linear): expects 400 inputs, got 784');
    expect(e.where).toBe('layers.2');
    expect(custom([{ type: 'conv2d', out: 4, kernel: 3 }, { type: 'linear', out: 10 }]).message).toMatch(/layers\.2 \(linear\): .*got an image \[4, 26, 26\]: add a flatten/);
  });

  it('kernels larger than their input, channel checks, groups', () => {
    expect(custom([{ type: 'maxpool2d', kernel: 4 }, { type: 'maxpool2d', kernel: 4 }, { type: 'conv2d', out: 4, kernel: 3 }]).message)
      .toBe('layers.3 (conv2d): kernel 3×3 is larger than its padded input 1×1');
    expect(custom([{ type: 'conv2d', out: 4, kernel: 3, in: 3 }]).message).toMatch(/layers\.1 \(conv2d\): expects 3 input channels, got 1/);
    expect(custom([{ type: 'conv2d', out: 4, kernel: 3, groups: 2 }]).message).toMatch(/groups 2 must divide/);
  });

  it('residual bodies whose shape differs from the shortcut, nested paths', () => {
    const block = { type: 'residual', body: [{ type: 'conv2d', out: 8, kernel: 3, stride: 2, padding: 1 }] };
    expect(custom([{ type: 'conv2d', out: 4, kernel: 3, padding: 1 }, block, { type: 'flatten' }, { type: 'linear', out: 10 }]).message)
      .toMatch(/^layers\.2 \(residual\): body gives \[8, 14, 14\] but the identity shortcut gives \[4, 28, 28\]/);
    // Option A and a projection make the same block legal.
    for (const shortcut of [{ kind: 'A' }, [{ type: 'conv2d', out: 8, kernel: 1, stride: 2 }]]) {
      const g = compileModel('custom', { layers: [{ type: 'conv2d', out: 4, kernel: 3, padding: 1 }, { ...block, shortcut }, { type: 'flatten' }, { type: 'linear', out: 10 }] }, MNIST, 10);
      expect(describeGraph(g).rows.find((r) => r.name === 'layers.2')?.outputShape).toEqual([8, 14, 14]);
    }
    const nested = { type: 'residual', body: [{ type: 'conv2d', out: 1, kernel: 3, padding: 1 }, { type: 'linear', out: 3, in: 5 }] };
    expect(custom([nested]).message).toMatch(/^layers\.1\.body\.1 \(linear\):/);
    expect(custom([{ type: 'concat', branches: [[{ type: 'conv2d', out: 2, kernel: 1 }], [{ type: 'conv2d', out: 2, kernel: 3 }]] }]).message)
      .toMatch(/layers\.1 \(concat\): branch 1 gives \[2, 26, 26\] but branch 0 gives \[2, 28, 28\]/);
  });

  it('schema errors: unknown fields, missing fields, bad values, unknown types', () => {
    expect(custom([{ type: 'conv2d', out: 4, kernal: 3 }]).message).toMatch(/layers\.1 \(conv2d\): kernel: missing.*unknown field 'kernal'/);
    expect(custom([{ type: 'flatten' }, { type: 'dropout', p: 1.5 }]).message).toMatch(/layers\.2 \(dropout\): p: Too big/);
    expect(custom([{ type: 'residual', body: [{ type: 'conv2d', out: 4, kernel: 3, stride: 0 }] }]).message).toMatch(/layers\.1\.body\.0 \(conv2d\): stride/);
    expect(custom([{ type: 'softmax' }]).message).toMatch(/layers\.1 \(softmax\): type: Invalid discriminator/);
  });

  it('the model must end with one logit per class, normalize only first', () => {
    expect(custom([{ type: 'flatten' }, { type: 'linear', out: 84 }]).message).toMatch(/layers\.2 \(linear\): the model ends with \[84\] but needs \[10\]/);
    expect(custom([{ type: 'flatten' }, { type: 'normalize', mean: [0], std: [1] }]).message).toMatch(/normalize may only be the first layer/);
  });
});

describe('formatLayerTable', () => {
  it('prints aligned columns with nested blocks indented and a total line', () => {
    const d = describeGraph(compileModel('resnet', { n: 1 }, CIFAR, 10));
    const t = formatLayerTable(d);
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/^layer\s+type\s+output\s+params\s+FLOPs\s+detail$/);
    const typeCol = lines[0].indexOf('type');
    for (const l of lines.slice(2, -2)) expect(l[typeCol - 1]).toBe(' ');
    expect(lines.find((l) => l.includes('layers.4.body.0'))).toMatch(/^ {2}layers\.4\.body\.0\s+conv2d\s+\[16, 32, 32\]\s+2,304\s+4\.72M\s+3×3 p1, 16→16, no bias$/);
    expect(lines.at(-1)).toMatch(new RegExp(`^total\\s+\\[10\\]\\s+${d.totalParams.toLocaleString('en-US')}`));
    // Right-aligned params: every row's params cell ends at the same column.
    const end = lines[0].indexOf('params') + 'params'.length;
    for (const l of lines.slice(2, -2)) expect(l[end - 1]).toMatch(/[\d-]/);
  });
});
