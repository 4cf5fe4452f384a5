/**
 * conv2d / conv1d (implicit GEMM) against the float64 CPU reference:
 * forward, and backward (dx, dw, db) against central finite differences of
 * the reference on small shapes, and against the analytic reference backward
 * on shapes that exercise multiple tiles, the 64-wide tile, split-K
 * weight-grad and folded dispatches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backward,
  CONV_FLAGS,
  conv1d,
  conv2d,
  DW_BLOCKS_FLAGS,
  DX_ROWS_FLAGS,
  fromTypedArray,
  ShapeError,
  SHIFTED_FLAGS,
  type Activation,
  type Tensor,
} from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray, sizeOf } from './helpers.ts';
import { activationsRef } from './reference/elementwise.ts';
import { conv2dBackwardRef, conv2dRef, convOutSize, type ConvRefOpts } from './reference/conv.ts';

const FWD = { rtol: 1e-4, atol: 1e-5 };
const BWD = { rtol: 1e-3, atol: 1e-4 };

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  bias: boolean;
  o: ConvRefOpts;
  act?: Activation;
}

const opts = (o: ConvRefOpts) => ({ stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups });

describe('conv2d forward + backward vs finite differences', () => {
  const cases: Case[] = [
    { name: '3×3 pad 1, odd 7×9, batch 2, bias', x: [2, 3, 7, 9], w: [4, 3, 3, 3], bias: true, o: { padding: [1, 1] } },
    { name: '3×3 stride 2, no padding, 9×7', x: [2, 3, 9, 7], w: [5, 3, 3, 3], bias: true, o: { stride: [2, 2] } },
    { name: '5×5 stride 2 pad 2, 11×10', x: [1, 2, 11, 10], w: [3, 2, 5, 5], bias: false, o: { stride: [2, 2], padding: [2, 2] } },
    { name: 'dilation 2, pad 2', x: [2, 2, 9, 9], w: [3, 2, 3, 3], bias: true, o: { dilation: [2, 2], padding: [2, 2] } },
    { name: 'groups 2', x: [2, 4, 6, 7], w: [6, 2, 3, 3], bias: true, o: { groups: 2, padding: [1, 1] } },
    { name: 'depthwise (groups = C), stride 2', x: [2, 5, 7, 6], w: [5, 1, 3, 3], bias: true, o: { groups: 5, padding: [1, 1], stride: [2, 2] } },
    { name: 'depthwise with channel multiplier 2', x: [1, 3, 6, 6], w: [6, 1, 3, 3], bias: false, o: { groups: 3 } },
    { name: 'non-square 2×5 kernel, stride [1, 2], pad [1, 2]', x: [2, 3, 8, 11], w: [4, 3, 2, 5], bias: true, o: { stride: [1, 2], padding: [1, 2] } },
    { name: '1×1 kernel', x: [3, 6, 5, 5], w: [7, 6, 1, 1], bias: true, o: {} },
    { name: '2×2 kernel, stride 3 (skipped inputs)', x: [1, 2, 10, 10], w: [2, 2, 2, 2], bias: true, o: { stride: [3, 3] } },
    { name: 'stride 2, dilation 2, pad [2, 1], rectangular', x: [2, 2, 11, 8], w: [3, 2, 3, 2], bias: true, o: { stride: [2, 2], dilation: [2, 2], padding: [2, 1] } },
    { name: 'fused bias + relu', x: [2, 3, 6, 6], w: [4, 3, 3, 3], bias: true, o: { padding: [1, 1] }, act: 'relu' },
    { name: 'fused bias + gelu (keeps the pre-activation)', x: [1, 3, 6, 5], w: [4, 3, 3, 3], bias: true, o: { padding: [1, 1] }, act: 'gelu' },
    { name: 'fused leakyRelu, no bias', x: [1, 2, 5, 5], w: [3, 2, 3, 3], bias: false, o: {}, act: 'leakyRelu' },
    { name: 'fused elu with 4×4 outputs (vec4 stores of y and the pre-activation)', x: [2, 2, 6, 6], w: [3, 2, 3, 3], bias: true, o: {}, act: 'elu' },
    { name: 'fused tanh, groups 2 stride 2', x: [2, 4, 7, 7], w: [4, 2, 3, 3], bias: true, o: { groups: 2, stride: [2, 2], padding: [1, 1] }, act: 'tanh' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const e = await getEngine();
      const act = c.act ?? 'none';
      const f = act === 'none' ? (v: number) => v : (activationsRef as Record<string, (v: number) => number>)[act];
      const inputs: Array<{ shape: readonly number[]; data: Float32Array }> = [
        { shape: c.x, data: randArray(sizeOf(c.x), sizeOf(c.x) + 1) },
        { shape: c.w, data: randArray(sizeOf(c.w), sizeOf(c.w) + 2) },
      ];
      if (c.bias) inputs.push({ shape: [c.w[0]], data: randArray(c.w[0], 3) });
      await checkForwardBackward(e, {
        label: c.name,
        inputs,
        gpu: ([x, w, b]) => conv2d(x, w, b ?? null, { ...opts(c.o), activation: act }),
        cpu: ([x, w, b]) => conv2dRef(x, c.x, w, c.w, b ?? null, c.o).map((v) => f(v)),
        fwdTol: FWD,
        bwdTol: BWD,
      });
    });
  }
});

describe('conv2d reference backward', () => {
  it('agrees with finite differences (float64)', () => {
    const xs = [2, 4, 6, 5];
    const ws = [4, 2, 3, 2];
    const o: ConvRefOpts = { stride: [2, 1], padding: [1, 1], dilation: [1, 2], groups: 2 };
    const x = Float64Array.from(randArray(sizeOf(xs), 1));
    const w = Float64Array.from(randArray(sizeOf(ws), 2));
    const [Ho, Wo] = convOutSize(6, 5, 3, 2, o);
    const g = Float64Array.from(randArray(2 * 4 * Ho * Wo, 3));
    const { dx, dw, db } = conv2dBackwardRef(x, xs, w, ws, g, o);
    const loss = (xv: Float64Array, wv: Float64Array, bv: Float64Array | null) =>
      conv2dRef(xv, xs, wv, ws, bv, o).reduce((s, v, i) => s + v * g[i], 0);
    const eps = 1e-6;
    const fd = (arr: Float64Array, i: number, f: () => number): number => {
      const keep = arr[i];
      arr[i] = keep + eps;
      const p = f();
      arr[i] = keep - eps;
      const m = f();
      arr[i] = keep;
      return (p - m) / (2 * eps);
    };
    for (let i = 0; i < x.length; i++) expect(Math.abs(fd(x, i, () => loss(x, w, null)) - dx[i])).toBeLessThan(1e-7);
    for (let i = 0; i < w.length; i++) expect(Math.abs(fd(w, i, () => loss(x, w, null)) - dw[i])).toBeLessThan(1e-7);
    const b = new Float64Array(4);
    for (let i = 0; i < 4; i++) expect(Math.abs(fd(b, i, () => loss(x, w, b)) - db[i])).toBeLessThan(1e-7);
  });
});

/** Forward, dx, dw, db of one conv against the analytic reference. */
async function checkAnalytic(c: Case, label = c.name): Promise<void> {
  const e = await getEngine();
  const xd = randArray(sizeOf(c.x), sizeOf(c.x) + 5);
  const wd = randArray(sizeOf(c.w), sizeOf(c.w) + 6);
  const bd = randArray(c.w[0], 7);
  const x = fromTypedArray(e, xd, c.x);
  const w = fromTypedArray(e, wd, c.w);
  const b = fromTypedArray(e, bd, [c.w[0]]);
  x.requiresGrad = w.requiresGrad = b.requiresGrad = true;
  const y = conv2d(x, w, c.bias ? b : null, opts(c.o));
  const [Ho, Wo] = convOutSize(c.x[2], c.x[3], c.w[2], c.w[3], c.o);
  expect(y.shape).toEqual([c.x[0], c.w[0], Ho, Wo]);
  expectClose(await y.read(), conv2dRef(xd, c.x, wd, c.w, c.bias ? bd : null, c.o), FWD, `${label} forward`);
  const gd = randArray(y.size, 8);
  const gy = fromTypedArray(e, gd, y.shape);
  backward(y, gy);
  const ref = conv2dBackwardRef(xd, c.x, wd, c.w, gd, c.o);
  expectClose(await x.grad!.read(), ref.dx, FWD, `${label} dx`);
  expectClose(await w.grad!.read(), ref.dw, FWD, `${label} dw`);
  if (c.bias) expectClose(await b.grad!.read(), ref.db, FWD, `${label} db`);
  for (const t of [x, w, b, y, gy] as Tensor[]) t.dispose();
}

describe('conv2d on larger shapes vs the analytic reference (the generic kernels)', () => {
  // The CPU adapter's by-blocks weight-grad and by-rows input-grad are tested below; here the GEMM kernels they replace there.
  beforeAll(() => {
    DW_BLOCKS_FLAGS.enabled = false;
    DX_ROWS_FLAGS.enabled = false;
  });
  afterAll(() => {
    DW_BLOCKS_FLAGS.enabled = true;
    DX_ROWS_FLAGS.enabled = true;
  });
  const cases: Case[] = [
    { name: 'M = 18 (64-wide tile), N·Ho·Wo = 969 not a tile multiple', x: [3, 5, 17, 19], w: [18, 5, 3, 3], bias: true, o: { padding: [1, 1] } },
    { name: '70 output channels (two M tiles), K = 72', x: [2, 8, 12, 12], w: [70, 8, 3, 3], bias: true, o: { padding: [1, 1] } },
    { name: 'split-K weight-grad (N·Ho·Wo = 1024)', x: [4, 3, 16, 16], w: [8, 3, 3, 3], bias: true, o: { padding: [1, 1] } },
    { name: 'strided input-grad with 20 channels', x: [2, 20, 15, 15], w: [24, 20, 3, 3], bias: true, o: { stride: [2, 2], padding: [1, 1] } },
    { name: 'groups 2 with 20 channels per group, dilation 2', x: [2, 40, 9, 9], w: [40, 20, 3, 3], bias: false, o: { groups: 2, dilation: [2, 2], padding: [2, 2] } },
    { name: 'depthwise 32 channels, 5×5, stride 2', x: [3, 32, 13, 11], w: [32, 1, 5, 5], bias: true, o: { groups: 32, padding: [2, 2], stride: [2, 2] } },
    { name: 'LeNet-like 1→6, 28×28, k5', x: [8, 1, 28, 28], w: [6, 1, 5, 5], bias: true, o: {} },
    { name: 'ResNet-like 16→16, 32×32, k3 pad 1', x: [4, 16, 32, 32], w: [16, 16, 3, 3], bias: false, o: { padding: [1, 1] } },
    // Unpadded, stride 1: the input-grad runs over valid taps only (conv-dx-valid.ts).
    { name: 'LeNet conv2-like 6→16, 14×14, k5 (valid-tap input-grad)', x: [3, 6, 14, 14], w: [16, 6, 5, 5], bias: true, o: {} },
    {
      name: 'valid-tap input-grad: 70 images (two chunks), 20 channels per group (two row tiles), groups 2, 3×5 kernel, pad [0, 1]',
      x: [70, 40, 7, 9],
      w: [8, 20, 3, 5],
      bias: false,
      o: { groups: 2, padding: [0, 1] },
    },
  ];
  for (const c of cases) it(c.name, () => checkAnalytic(c));

  it('took the bias gradients from the weight-grad kernel (row sums of dY)', async () => {
    const e = await getEngine();
    expect(e.compiledKernels().some((k) => /^convd_dw_\d+x\d+_rowsums$/.test(k))).toBe(true);
  });

  it('ran the valid-tap input-grad for the unpadded layers', async () => {
    const e = await getEngine();
    expect(e.compiledKernels()).toEqual(expect.arrayContaining([expect.stringMatching(/^convd_dxv_4x32$/), expect.stringMatching(/^convd_dxv_8x32$/), expect.stringMatching(/^convd_dxv_16x64$/)]));
  });

  // The test adapter is a CPU one, where every conv takes the direct kernel;
  // GPUs take the tiled one for many channels: force it here so both are proven.
  describe('with the tiled kernel forced (what GPUs run for many channels)', () => {
    const keep = { ...CONV_FLAGS.directMaxM };
    beforeAll(() => {
      CONV_FLAGS.directMaxM.software = 0;
      CONV_FLAGS.directMaxM.gpu = 0;
    });
    afterAll(() => Object.assign(CONV_FLAGS.directMaxM, keep));
    for (const c of cases) it(c.name, () => checkAnalytic(c, `${c.name} (tiled)`));
    it('really ran the tiled forward and input-grad pipelines', async () => {
      const e = await getEngine();
      expect(e.compiledKernels()).toEqual(expect.arrayContaining([expect.stringMatching(/^conv_fwd_/), expect.stringMatching(/^conv_dx_/), 'conv_pack2']));
    });
  });

  it('depthwise over 66000 channels: more than 65535 workgroups, folded', async () => {
    const e = await getEngine();
    const C = 66_000;
    expect(C).toBeGreaterThan(e.limits.maxWorkgroupsPerDimension);
    await checkAnalytic({ name: 'folded depthwise', x: [1, C, 3, 3], w: [C, 1, 2, 2], bias: true, o: { groups: C } });
  });

  it('folding path with a lowered workgroup limit (8 per dimension)', async () => {
    const e = await getEngine();
    const limits = e.limits as { maxWorkgroupsPerDimension: number };
    const keep = limits.maxWorkgroupsPerDimension;
    limits.maxWorkgroupsPerDimension = 8;
    try {
      // 1920 output columns: 30 tiles per dispatch, folded into an 8 × 4 grid.
      await checkAnalytic({ name: 'lowered limit', x: [2, 3, 24, 40], w: [20, 3, 3, 3], bias: true, o: { padding: [1, 1] } });
    } finally {
      limits.maxWorkgroupsPerDimension = keep;
    }
  });

  it('keeps the number of distinct conv pipelines small', async () => {
    const e = await getEngine();
    // One GEMM pipeline per (mode, tile shape), whatever the layer sizes:
    // direct forward and input-grad with 4, 8 or 16 rows per invocation,
    // direct weight-grad with 4, 8 or 16 rows and 4 or 8 columns; the tiled
    // forward and input-grad (one tile each) and their weight packer.
    const names = e.compiledKernels();
    const direct = names.filter((k) => /^convd_(fwd|dx|dw)_/.test(k));
    expect(direct.length).toBeGreaterThan(0);
    expect(direct.filter((k) => k.startsWith('convd_dw_')).length).toBeLessThanOrEqual(6);
    expect(direct.length).toBeLessThanOrEqual(12);
    expect(names.filter((k) => /^conv_(fwd|dx|dw)_/.test(k)).length).toBeLessThanOrEqual(2);
  });
});

describe('weight-grad by blocks of dW (conv-dw-blocks.ts) and input-grad by rows (conv-dx-rows.ts), lavapipe', () => {
  // Stride 1, dilation 1, no groups: each invocation sums an R × kH × kW block of dW (R ≤ 4, R·kH·kW ≤ 100),
  // or R channels of 2 rows of dX (R·2·W ≤ 96, R·kW·Wo ≤ 512) where most of the GEMM's taps fall outside dY.
  const cases: Case[] = [
    { name: 'LeNet-5 conv1: 64 images, 1→6 (blocks of 3), 28×28, k5 pad 2', x: [64, 1, 28, 28], w: [6, 1, 5, 5], bias: true, o: { padding: [2, 2] } },
    { name: 'LeNet-5 conv2: 64 images, 6→16 (blocks of 4), 14×14, k5', x: [64, 6, 14, 14], w: [16, 6, 5, 5], bias: true, o: {} },
    { name: '3→7 (blocks of 4 and 3), 3×3 pad 1, odd 9×11 planes', x: [3, 3, 9, 11], w: [7, 3, 3, 3], bias: true, o: { padding: [1, 1] } },
    { name: '2→5, rectangular 3×4 kernel, pad [1, 0], no bias', x: [3, 2, 9, 11], w: [5, 2, 3, 4], bias: false, o: { padding: [1, 0] } },
    { name: '4→3, 7×7 pad 3 (blocks of 2: 98 accumulators)', x: [2, 4, 10, 12], w: [3, 4, 7, 7], bias: true, o: { padding: [3, 3] } },
    { name: '5→9, 1×1 kernel', x: [2, 5, 6, 7], w: [9, 5, 1, 1], bias: true, o: {} },
  ];
  for (const c of cases) it(c.name, () => checkAnalytic(c));
  it('ran conv_dwb and conv_dxr for them on lavapipe (one pipeline per block shape and row geometry), never elsewhere', async () => {
    const e = await getEngine();
    const mine = e.compiledKernels().filter((k) => /^conv_(dwb|dxr)_/.test(k));
    if (!e.isLavapipe) {
      // SwiftShader took 150 s to compile them: the generic kernels ran the checks above.
      expect(mine).toEqual([]);
      return;
    }
    // (by rows only where it replaces the valid-tap kernel: layers with few valid taps)
    expect(mine).toEqual(expect.arrayContaining(['conv_dxr_3x5x14x10x0x2', 'conv_dxr_2x4x11x8x0x2']));
    expect(mine).toEqual(expect.arrayContaining(['conv_dwb_3x5x5', 'conv_dwb_4x5x5', 'conv_dwb_4x3x3', 'conv_dwb_3x3x4', 'conv_dwb_2x7x7', 'conv_dwb_3x1x1']));
  });
  describe('the same layers through the generic kernels (split-K weight-grad, valid-tap or GEMM input-grad)', () => {
    beforeAll(() => {
      DW_BLOCKS_FLAGS.enabled = false;
      DX_ROWS_FLAGS.enabled = false;
      SHIFTED_FLAGS.enabled = false;
    });
    afterAll(() => {
      DW_BLOCKS_FLAGS.enabled = true;
      DX_ROWS_FLAGS.enabled = true;
      SHIFTED_FLAGS.enabled = true;
    });
    for (const c of cases) it(c.name, () => checkAnalytic(c, `${c.name} (generic)`));
  });
});

describe('first-layer weight-grad over the shifted-quad copy (conv-shifted.ts, used where blocks are not)', () => {
  // Stride 1, ≤ 4 input channels, Wo a multiple of 4: conv_s4_dw computes dW and db.
  beforeAll(() => {
    DW_BLOCKS_FLAGS.enabled = false;
  });
  afterAll(() => {
    DW_BLOCKS_FLAGS.enabled = true;
  });
  const cases: Case[] = [
    { name: 'LeNet-5 conv1: 64 images, 1→6, 28×28, k5 pad 2 (a partial last slice)', x: [64, 1, 28, 28], w: [6, 1, 5, 5], bias: true, o: { padding: [2, 2] } },
    { name: 'CIFAR first layer: 3→16 (two channel blocks), 3×3 pad 1', x: [5, 3, 32, 32], w: [16, 3, 3, 3], bias: true, o: { padding: [1, 1] } },
    { name: '2→5, 3×4 kernel (width rounded up to 5), pad [1, 0], 9×11', x: [3, 2, 9, 11], w: [5, 2, 3, 4], bias: true, o: { padding: [1, 0] } },
    { name: '4→3 (four-row block), 7×7 pad 3, no bias', x: [2, 4, 10, 12], w: [3, 4, 7, 7], bias: false, o: { padding: [3, 3] } },
    { name: '1→2, 11×11 unpadded on 14×22', x: [2, 1, 14, 22], w: [2, 1, 11, 11], bias: true, o: {} },
  ];
  for (const c of cases) it(c.name, () => checkAnalytic(c));
  it('ran conv_s4_dw for them', async () => {
    const e = await getEngine();
    expect(e.compiledKernels()).toEqual(expect.arrayContaining(['conv_s4_shift', 'conv_s4_dw_8x5', 'conv_s4_dw_8x3', 'conv_s4_dw_4x7', 'conv_s4_dw_4x11']));
  });
});

describe('conv1d', () => {
  const cases: Array<{ name: string; x: [number, number, number]; w: [number, number, number]; o: { stride?: number; padding?: number; dilation?: number; groups?: number } }> = [
    { name: 'k3 stride 2 pad 1', x: [2, 3, 11], w: [4, 3, 3], o: { stride: 2, padding: 1 } },
    { name: 'dilation 2, groups 2', x: [2, 4, 13], w: [6, 2, 3], o: { dilation: 2, groups: 2, padding: 2 } },
  ];
  for (const c of cases) {
    it(`matches conv2d over H = 1 (forward + finite differences): ${c.name}`, async () => {
      const e = await getEngine();
      const o: ConvRefOpts = {
        stride: [1, c.o.stride ?? 1],
        padding: [0, c.o.padding ?? 0],
        dilation: [1, c.o.dilation ?? 1],
        groups: c.o.groups,
      };
      const x4 = [c.x[0], c.x[1], 1, c.x[2]];
      const w4 = [c.w[0], c.w[1], 1, c.w[2]];
      await checkForwardBackward(e, {
        label: `conv1d ${c.name}`,
        inputs: [
          { shape: c.x, data: randArray(sizeOf(c.x), 31) },
          { shape: c.w, data: randArray(sizeOf(c.w), 32) },
          { shape: [c.w[0]], data: randArray(c.w[0], 33) },
        ],
        gpu: ([x, w, b]) => {
          const y = conv1d(x, w, b, c.o);
          expect(y.shape).toEqual([c.x[0], c.w[0], convOutSize(1, c.x[2], 1, c.w[2], o)[1]]);
          return y;
        },
        cpu: ([x, w, b]) => conv2dRef(x, x4, w, w4, b, o),
        fwdTol: FWD,
        bwdTol: BWD,
      });
    });
  }
});

describe('conv errors', () => {
  it('a wrong channel count throws ShapeError naming both shapes', async () => {
    const e = await getEngine();
    const x = fromTypedArray(e, new Float32Array(75), [1, 3, 5, 5]);
    const w = fromTypedArray(e, new Float32Array(72), [4, 2, 3, 3]);
    expect(() => conv2d(x, w)).toThrow(ShapeError);
    expect(() => conv2d(x, w)).toThrow(/3 channels.*\[1, 3, 5, 5\] and \[4, 2, 3, 3\]/);
    const x1 = fromTypedArray(e, new Float32Array(15), [1, 3, 5]);
    const w1 = fromTypedArray(e, new Float32Array(16), [4, 2, 2]);
    expect(() => conv1d(x1, w1)).toThrow(/\[1, 3, 5\] and \[4, 2, 2\]/);
    [x, w, x1, w1].forEach((t) => t.dispose());
  });

  it('rejects groups that do not divide the channels, a kernel larger than the input, and bad bias', async () => {
    const e = await getEngine();
    const x = fromTypedArray(e, new Float32Array(1 * 4 * 3 * 3), [1, 4, 3, 3]);
    const w3 = fromTypedArray(e, new Float32Array(6 * 2 * 3 * 3), [6, 2, 3, 3]);
    expect(() => conv2d(x, w3, null, { groups: 3 })).toThrow(ShapeError);
    const w5 = fromTypedArray(e, new Float32Array(2 * 4 * 5 * 5), [2, 4, 5, 5]);
    expect(() => conv2d(x, w5)).toThrow(/does not fit/);
    const b = fromTypedArray(e, new Float32Array(3), [3]);
    expect(() => conv2d(x, w5, b, { padding: 1 })).toThrow(/bias/);
    expect(() => conv2d(x, w5, null, { stride: 0, padding: 1 })).toThrow(/stride/);
    [x, w3, w5, b].forEach((t) => t.dispose());
  });
});
