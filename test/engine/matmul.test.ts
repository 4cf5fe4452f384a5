/**
 * matmul and linear against the CPU reference.
 * Tolerances: forward rtol 1e-4 with an absolute floor of 1e-5·max|C|
 * (f32 sums of K products); gradients the same, FD checks on tiny shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, fromTypedArray, linear, MATMUL_FLAGS, matmul, type Activation } from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray } from './helpers.ts';
import { activationsRef, erf } from './reference/elementwise.ts';
import { matmulBackwardRef, matmulRef } from './reference/matmul.ts';

const TOL = { rtol: 1e-4, atol: 1e-5 };

describe('matmul forward', () => {
  const cases: Array<[string, number, number, number, number, boolean, boolean]> = [
    ['1×1×1', 1, 1, 1, 1, false, false],
    ['odd sizes 37×29×53', 1, 37, 29, 53, false, false],
    ['not tile multiples 65×130×17, batch 3', 3, 65, 130, 17, false, false],
    ['transposeA 70×33×45', 2, 70, 33, 45, true, false],
    ['transposeB 70×33×45', 2, 70, 33, 45, false, true],
    ['both transposed 31×66×64', 1, 31, 66, 64, true, true],
    ['64-tile unaligned path 130×260×70', 1, 130, 260, 70, false, false],
    ['64-tile unaligned path, transposes', 1, 130, 260, 70, true, true],
    ['64-tile aligned vec4 path 256×128×64', 1, 256, 128, 64, false, false],
    ['64-tile aligned vec4 path, transposeA', 1, 256, 128, 64, true, false],
    ['64-tile aligned vec4 path, transposeB', 1, 256, 128, 64, false, true],
    ['64-tile aligned vec4 path, both transposed', 1, 128, 256, 32, true, true],
    ['aligned vec4 path 128×64×48, batch 2', 2, 128, 64, 48, false, false],
    ['aligned vec4 path, transposeA', 2, 128, 64, 48, true, false],
    ['aligned vec4 path, transposeB', 2, 64, 128, 32, false, true],
    ['aligned vec4 path, both transposed', 1, 64, 192, 64, true, true],
    ['aligned 32-tile path 32×32×16', 3, 32, 32, 16, false, false],
  ];
  // The test adapter is a CPU one, where the direct kernel runs by default;
  // GPUs run the tiled one: every case runs with each kernel and, for the
  // direct one, with each operand as the uniform side.
  const modes: Array<{ mode: string; flags: Partial<typeof MATMUL_FLAGS> }> = [
    { mode: 'direct, auto', flags: {} },
    { mode: 'direct, rows of A uniform', flags: { directSwap: false } },
    { mode: 'direct, columns of B uniform', flags: { directSwap: true } },
    { mode: 'tiled', flags: { direct: { software: false, gpu: false } } },
  ];
  for (const { mode, flags } of modes) {
    describe(mode, () => {
      const keep = { ...MATMUL_FLAGS };
      beforeAll(() => Object.assign(MATMUL_FLAGS, flags));
      afterAll(() => Object.assign(MATMUL_FLAGS, keep));
      for (const [name, batch, M, N, K, tA, tB] of cases) {
        it(`matches the reference: ${name}`, async () => {
          const e = await getEngine();
          const a = randArray(batch * M * K, M * 7 + K);
          const b = randArray(batch * K * N, N * 11 + K);
          const at = fromTypedArray(e, a, tA ? [batch, K, M] : [batch, M, K]);
          const bt = fromTypedArray(e, b, tB ? [batch, N, K] : [batch, K, N]);
          const c = matmul(at, bt, { transposeA: tA, transposeB: tB });
          expect(c.shape).toEqual([batch, M, N]);
          expectClose(await c.read(), matmulRef(a, b, batch, batch, M, N, K, tA, tB), TOL, `${name} (${mode})`);
          [at, bt, c].forEach((t) => t.dispose());
          const t = `${tA ? 't' : 'n'}${tB ? 't' : 'n'}`;
          if (mode !== 'tiled') {
            const [wg, rU, rG] = MATMUL_FLAGS.directShape;
            const swap = mode.includes('columns') || (mode.includes('auto') && N < M);
            expect(e.compiledKernels()).toContain(`matmuld_${t}_${swap ? `${wg * rG}x${rU}` : `${rU}x${wg * rG}`}`);
          }
          else if (name.startsWith('64-tile aligned')) expect(e.compiledKernels()).toContain(`matmul_${t}_64x16_v4`);
          else if (name.startsWith('64-tile unaligned')) expect(e.compiledKernels()).toContain(`matmul_${t}_64x16`);
        });
      }
      it('linear with bias + GELU epilogue and its gradients vs the analytic reference', () => checkLinearGelu(mode));
      it('linear bias gradient on odd sizes (direct: the row sums of the weight-grad GEMM)', async () => {
        const e = await getEngine();
        for (const [N, I, O] of [[37, 19, 11], [5, 3, 70]]) {
          const x = randArray(N * I, 50 + N);
          const W = randArray(O * I, 51 + N);
          const g = randArray(N * O, 52 + N);
          const xt = fromTypedArray(e, x, [N, I]);
          const Wt = fromTypedArray(e, W, [O, I]);
          const bt = fromTypedArray(e, new Float32Array(O), [O]);
          Wt.requiresGrad = bt.requiresGrad = true;
          backward(linear(xt, Wt, bt), fromTypedArray(e, g, [N, O]));
          expectClose(await Wt.grad!.read(), matmulRef(g, x, 1, 1, O, I, N, true, false), TOL, `dW ${N}×${I}×${O}`);
          const db = new Float64Array(O);
          g.forEach((v, i) => (db[i % O] += v));
          expectClose(await bt.grad!.read(), db, TOL, `db ${N}×${I}×${O}`);
        }
        if (mode !== 'tiled') expect(e.compiledKernels().some((k) => /^matmuld_tn_.*_rowsums$/.test(k))).toBe(true);
      });
      if (mode !== 'tiled') {
        it('the aligned cases above read adjacent operand lines as vec4 (and the odd ones one by one)', async () => {
          const names = (await getEngine()).compiledKernels().filter((k) => k.startsWith('matmuld_'));
          expect(names.some((k) => /_v(u|g|ug)(_epilogue_\w+)?$/.test(k))).toBe(true);
          expect(names.some((k) => /^matmuld_[nt]{2}_\d+x\d+$/.test(k))).toBe(true);
        });
      }
    });
  }

  it('broadcasts a 2-D right operand over the batch', async () => {
    const e = await getEngine();
    const a = randArray(4 * 5 * 6, 1);
    const b = randArray(6 * 7, 2);
    const c = matmul(fromTypedArray(e, a, [2, 2, 5, 6]), fromTypedArray(e, b, [6, 7]));
    expect(c.shape).toEqual([2, 2, 5, 7]);
    expectClose(await c.read(), matmulRef(a, b, 4, 1, 5, 7, 6), TOL, 'broadcast');
  });

  it('folds a batched dispatch of more than 65535 workgroups (70000 batches of 2×3·3×2)', async () => {
    const e = await getEngine();
    const batch = 70_000;
    const a = randArray(batch * 6, 3);
    const b = randArray(batch * 6, 4);
    const c = matmul(fromTypedArray(e, a, [batch, 2, 3]), fromTypedArray(e, b, [batch, 3, 2]));
    expect(batch).toBeGreaterThan(e.limits.maxWorkgroupsPerDimension);
    expectClose(await c.read(), matmulRef(a, b, batch, batch, 2, 2, 3), TOL, 'folded');
  });
});

describe('matmul backward', () => {
  it('reference backward agrees with finite differences (float64)', () => {
    const [B, M, N, K] = [2, 3, 4, 5];
    const a = Float64Array.from(randArray(B * M * K, 5));
    const b = Float64Array.from(randArray(B * K * N, 6));
    const g = Float64Array.from(randArray(B * M * N, 7));
    const { da } = matmulBackwardRef(a, b, g, B, M, N, K);
    const eps = 1e-6;
    for (let i = 0; i < a.length; i++) {
      const keep = a[i];
      a[i] = keep + eps;
      const p = matmulRef(a, b, B, B, M, N, K).reduce((s, v, j) => s + v * g[j], 0);
      a[i] = keep - eps;
      const m = matmulRef(a, b, B, B, M, N, K).reduce((s, v, j) => s + v * g[j], 0);
      a[i] = keep;
      expect(Math.abs((p - m) / (2 * eps) - da[i])).toBeLessThan(1e-8);
    }
  });

  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`gradients match finite differences (transposeA=${tA}, transposeB=${tB})`, async () => {
      const e = await getEngine();
      const [B, M, N, K] = [2, 5, 3, 4];
      await checkForwardBackward(e, {
        label: `matmul ${tA}${tB}`,
        inputs: [
          { shape: tA ? [B, K, M] : [B, M, K], data: randArray(B * M * K, 8) },
          { shape: tB ? [B, N, K] : [B, K, N], data: randArray(B * K * N, 9) },
        ],
        gpu: ([a, b]) => matmul(a, b, { transposeA: tA, transposeB: tB }),
        cpu: ([a, b]) => matmulRef(a, b, B, B, M, N, K, tA, tB),
        fwdTol: TOL,
        bwdTol: { rtol: 1e-3, atol: 1e-4 },
      });
    });
  }

  it('gradients of a larger product (96×130×70) match the analytic reference', async () => {
    const e = await getEngine();
    const [M, N, K] = [96, 130, 70];
    const a = randArray(M * K, 10);
    const b = randArray(K * N, 11);
    const g = randArray(M * N, 12);
    const at = fromTypedArray(e, a, [1, M, K]);
    const bt = fromTypedArray(e, b, [1, K, N]);
    at.requiresGrad = bt.requiresGrad = true;
    backward(matmul(at, bt), fromTypedArray(e, g, [1, M, N]));
    const ref = matmulBackwardRef(a, b, g, 1, M, N, K);
    expectClose(await at.grad!.read(), ref.da, TOL, 'dA');
    expectClose(await bt.grad!.read(), ref.db, TOL, 'dB');
  });

  it('a broadcast operand receives the gradient summed over the batch', async () => {
    const e = await getEngine();
    await checkForwardBackward(e, {
      label: 'broadcast matmul',
      inputs: [
        { shape: [3, 2, 4], data: randArray(24, 13) },
        { shape: [4, 5], data: randArray(20, 14) },
      ],
      gpu: ([a, b]) => matmul(a, b),
      cpu: ([a, b]) => matmulRef(a, b, 3, 1, 2, 5, 4),
      fwdTol: TOL,
      bwdTol: { rtol: 1e-3, atol: 1e-4 },
    });
  });
});

describe('linear with fused bias + activation', () => {
  const acts: Activation[] = ['none', 'relu', 'gelu', 'sigmoid', 'tanh', 'leakyRelu', 'elu', 'softplus'];
  for (const act of acts) {
    it(`matches x·Wᵀ + b then ${act}, forward and backward (finite differences)`, async () => {
      const e = await getEngine();
      const [N, I, O] = [3, 5, 4];
      const f = act === 'none' ? (v: number) => v : (activationsRef as Record<string, (v: number) => number>)[act];
      await checkForwardBackward(e, {
        label: `linear ${act}`,
        inputs: [
          { shape: [N, I], data: randArray(N * I, 20) },
          { shape: [O, I], data: randArray(O * I, 21) },
          { shape: [O], data: randArray(O, 22) },
        ],
        gpu: ([x, W, b]) => linear(x, W, b, act),
        cpu: ([x, W, b]) => {
          const out = new Float64Array(N * O);
          for (let n = 0; n < N; n++)
            for (let o = 0; o < O; o++) {
              let s = b[o];
              for (let i = 0; i < I; i++) s += x[n * I + i] * W[o * I + i];
              out[n * O + o] = f(s);
            }
          return out;
        },
        fwdTol: { rtol: 1e-4, atol: 1e-5 },
        bwdTol: { rtol: 2e-3, atol: 2e-4 },
      });
    });
  }

  it('works for 3-D input and 300 output features with no bias', async () => {
    const e = await getEngine();
    const [B, T, I, O] = [2, 3, 17, 300];
    const x = randArray(B * T * I, 30);
    const W = randArray(O * I, 31);
    const y = linear(fromTypedArray(e, x, [B, T, I]), fromTypedArray(e, W, [O, I]));
    expect(y.shape).toEqual([B, T, O]);
    expectClose(await y.read(), matmulRef(x, W, 1, 1, B * T, O, I, false, true), TOL, 'linear 3-D');
  });
});

/** linear(x, W, b, 'gelu') on the 64-tile aligned shape, forward and gradients, under the current MATMUL_FLAGS. */
async function checkLinearGelu(mode: string): Promise<void> {
  const e = await getEngine();
  const [N, I, O] = [256, 32, 128]; // 64-tile aligned path
  const x = randArray(N * I, 40);
  const W = randArray(O * I, 41);
  const b = randArray(O, 42);
  const g = randArray(N * O, 43);
  const xt = fromTypedArray(e, x, [N, I]);
  const Wt = fromTypedArray(e, W, [O, I]);
  const bt = fromTypedArray(e, b, [O]);
  xt.requiresGrad = Wt.requiresGrad = bt.requiresGrad = true;
  const y = linear(xt, Wt, bt, 'gelu');
  const z = matmulRef(x, W, 1, 1, N, O, I, false, true).map((v, i) => v + b[i % O]);
  expectClose(await y.read(), z.map(activationsRef.gelu), TOL, 'aligned gelu fwd');
  if (mode === 'tiled') expect(e.compiledKernels()).toContain('matmul_nt_64x16_v4_epilogue');
  else expect(e.compiledKernels().some((k) => /^matmuld_nt_.*_epilogue_gelu$/.test(k))).toBe(true); // the activation compiled in
  backward(y, fromTypedArray(e, g, [N, O]));
  // dz = g·gelu'(z) with gelu'(z) = Φ(z) + z·φ(z)
  const dz = z.map((v, i) => g[i] * (0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI)));
  expectClose(await xt.grad!.read(), matmulRef(dz, W, 1, 1, N, I, O), TOL, 'dx');
  expectClose(await Wt.grad!.read(), matmulRef(dz, x, 1, 1, O, I, N, true, false), TOL, 'dW');
  const db = new Float64Array(O);
  dz.forEach((v, i) => (db[i % O] += v));
  expectClose(await bt.grad!.read(), db, TOL, 'db');
}
