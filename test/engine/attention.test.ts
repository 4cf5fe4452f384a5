/**
 * scaledDotProductAttention and multiHeadAttention against float64 CPU
 * references (head by head) and finite differences. Tolerances: forward
 * rtol 1e-5 / atol 1e-5·max, backward rtol 1e-3 / atol 1e-4·max.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray } from './helpers.ts';
import { mhaRef, sdpaRef } from './reference/attention.ts';

const FWD = { rtol: 1e-5, atol: 1e-5 };
const BWD = { rtol: 1e-3, atol: 1e-4 };

interface Dims {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  Dv: number;
}

const cases: Dims[] = [
  { B: 1, H: 1, Tq: 4, Tk: 4, D: 8, Dv: 8 },
  { B: 2, H: 3, Tq: 5, Tk: 7, D: 4, Dv: 6 }, // Tq < Tk
  { B: 1, H: 2, Tq: 6, Tk: 3, D: 5, Dv: 2 }, // Tq > Tk: later queries see every key even when causal
  { B: 1, H: 1, Tq: 9, Tk: 66, D: 3, Dv: 2 }, // Tk > 64: several strides of the row kernel
];

function qkvInputs(d: Dims, seed: number): Array<{ shape: number[]; data: Float32Array }> {
  const { B, H, Tq, Tk, D, Dv } = d;
  return [
    { shape: [B, H, Tq, D], data: randArray(B * H * Tq * D, seed, -1.5, 1.5) },
    { shape: [B, H, Tk, D], data: randArray(B * H * Tk * D, seed + 1, -1.5, 1.5) },
    { shape: [B, H, Tk, Dv], data: randArray(B * H * Tk * Dv, seed + 2) },
  ];
}

describe('scaledDotProductAttention', () => {
  for (const d of cases) {
    for (const causal of [false, true]) {
      const tag = `B${d.B} H${d.H} Tq${d.Tq} Tk${d.Tk} D${d.D} Dv${d.Dv}${causal ? ' causal' : ''}`;
      it(`output forward + backward, ${tag}`, async () => {
        const e = await getEngine();
        await checkForwardBackward(e, {
          label: 'sdpa out ' + tag,
          inputs: qkvInputs(d, d.Tq + d.Tk),
          gpu: ([q, k, v]) => {
            const r = E.scaledDotProductAttention(q, k, v, { causal });
            expect(r.weights).toBeUndefined();
            expect(r.out.shape).toEqual([d.B, d.H, d.Tq, d.Dv]);
            return r.out;
          },
          cpu: ([q, k, v]) => sdpaRef(q, k, v, d, causal).out,
          fwdTol: FWD,
          bwdTol: BWD,
        });
      });
      it(`returned weights forward + backward (gradient through the weights), ${tag}`, async () => {
        const e = await getEngine();
        await checkForwardBackward(e, {
          label: 'sdpa weights ' + tag,
          inputs: qkvInputs(d, d.D * 3),
          diff: [true, true, false], // v does not affect the weights
          gpu: ([q, k, v]) => {
            const r = E.scaledDotProductAttention(q, k, v, { causal, returnWeights: true });
            expect(r.weights!.shape).toEqual([d.B, d.H, d.Tq, d.Tk]);
            return r.weights!;
          },
          cpu: ([q, k, v]) => sdpaRef(q, k, v, d, causal).weights,
          fwdTol: FWD,
          bwdTol: BWD,
        });
      });
    }
  }

  for (const causal of [false, true]) {
    it(`large aligned sizes (B1 H4 T128 D64${causal ? ' causal' : ''}): forward vs reference, gradients vs composed ops`, async () => {
      const e = await getEngine();
      const d = { B: 1, H: 4, Tq: 128, Tk: 128, D: 64, Dv: 64 };
      const inputs = qkvInputs(d, 51);
      const [q, k, v] = inputs.map((i) => {
        const t = E.fromTypedArray(e, i.data, i.shape);
        t.requiresGrad = true;
        return t;
      });
      const w = E.fromTypedArray(e, randArray(d.H * d.Tq * d.Dv, 52), [1, d.H, d.Tq, d.Dv]);
      const r = E.scaledDotProductAttention(q, k, v, { causal, returnWeights: true });
      const ref = sdpaRef(inputs[0].data, inputs[1].data, inputs[2].data, d, causal);
      expectClose(await r.out.read(), ref.out, FWD, 'out');
      expectClose(await r.weights!.read(), ref.weights, FWD, 'weights');
      const fused = E.grad(E.sum(E.mul(r.out, w)), [q, k, v]);
      // softmax(q·kᵀ/√D + mask)·v from generic ops; the mask adds −1e9 above the diagonal.
      const mask = new Float32Array(d.Tq * d.Tk).map((_, i) => (causal && i % d.Tk > Math.floor(i / d.Tk) ? -1e9 : 0));
      const s = E.add(E.mulScalar(E.matmul(q, k, { transposeB: true }), 1 / 8), E.fromTypedArray(e, mask, [d.Tq, d.Tk]));
      const composed = E.grad(E.sum(E.mul(E.matmul(E.softmax(s), v), w)), [q, k, v]);
      for (let i = 0; i < 3; i++) expectClose(await fused[i].read(), await composed[i].read(), BWD, `grad ${i}`);
    });
  }

  it('ran both softmax row shapes: a workgroup per row (small cases) and an invocation per row (the large ones)', async () => {
    const names = (await getEngine()).compiledKernels();
    expect(names).toEqual(expect.arrayContaining(['attention_softmax', 'attention_softmax_seq', 'attention_softmax_backward', 'attention_softmax_backward_seq']));
  });

  it('loss on both the output and the returned weights', async () => {
    const e = await getEngine();
    const d = cases[1];
    const inputs = qkvInputs(d, 17);
    const wo = randArray(d.B * d.H * d.Tq * d.Dv, 18);
    const ww = randArray(d.B * d.H * d.Tq * d.Tk, 19);
    const ts = inputs.map((i) => {
      const t = E.fromTypedArray(e, i.data, i.shape);
      t.requiresGrad = true;
      return t;
    });
    const r = E.scaledDotProductAttention(ts[0], ts[1], ts[2], { causal: true, returnWeights: true });
    const loss = E.add(E.sum(E.mul(r.out, E.fromTypedArray(e, wo, r.out.shape))), E.sum(E.mul(r.weights!, E.fromTypedArray(e, ww, r.weights!.shape))));
    E.backward(loss);
    const f = (xs: Float64Array[]): number => {
      const ref = sdpaRef(xs[0], xs[1], xs[2], d, true);
      return ref.out.reduce((a, v, i) => a + v * wo[i], 0) + ref.weights.reduce((a, v, i) => a + v * ww[i], 0);
    };
    const xs = inputs.map((i) => Float64Array.from(i.data));
    for (let k = 0; k < 3; k++) {
      const num = xs[k].map((_, i) => {
        const keep = xs[k][i];
        xs[k][i] = keep + 1e-5;
        const lp = f(xs);
        xs[k][i] = keep - 1e-5;
        const lm = f(xs);
        xs[k][i] = keep;
        return (lp - lm) / 2e-5;
      });
      expectClose(await ts[k].grad!.read(), num, BWD, `d/dinput${k}`);
    }
  });

  it('weights rows sum to 1; causal weights are zero above the diagonal; causal differs from full', async () => {
    const e = await getEngine();
    const d = { B: 2, H: 2, Tq: 6, Tk: 6, D: 4, Dv: 3 };
    const [q, k, v] = qkvInputs(d, 23).map((i) => E.fromTypedArray(e, i.data, i.shape));
    const full = E.scaledDotProductAttention(q, k, v, { returnWeights: true });
    const causal = E.scaledDotProductAttention(q, k, v, { causal: true, returnWeights: true });
    for (const [name, r] of [['full', full], ['causal', causal]] as const) {
      const w = await r.weights!.read();
      for (let row = 0; row < d.B * d.H * d.Tq; row++) {
        let s = 0;
        for (let j = 0; j < d.Tk; j++) {
          const val = w[row * d.Tk + j];
          s += val;
          if (name === 'causal' && j > row % d.Tq) expect(val, `row ${row} col ${j}`).toBe(0);
          else expect(val).toBeGreaterThan(0);
        }
        expect(s).toBeCloseTo(1, 6);
      }
    }
    const a = await full.out.read();
    const b = await causal.out.read();
    // The last query sees every key in both; the first only itself when causal.
    let diff = 0;
    for (let i = 0; i < d.Dv; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    expect(diff).toBeGreaterThan(1e-3);
    const last = (d.Tq - 1) * d.Dv;
    for (let i = 0; i < d.Dv; i++) expect(a[last + i]).toBeCloseTo(b[last + i], 6);
  });

  it('shape errors name the shapes', async () => {
    const e = await getEngine();
    const z = (s: number[]): E.Tensor => E.zeros(e, s);
    expect(() => E.scaledDotProductAttention(z([2, 4, 8]), z([2, 4, 8]), z([2, 4, 8]))).toThrow(E.ShapeError);
    expect(() => E.scaledDotProductAttention(z([1, 2, 4, 8]), z([1, 2, 5, 7]), z([1, 2, 5, 3]))).toThrow(
      /feature sizes differ.*\[1, 2, 4, 8\] and \[1, 2, 5, 7\]/,
    );
    expect(() => E.scaledDotProductAttention(z([1, 2, 4, 8]), z([1, 2, 5, 8]), z([1, 2, 6, 3]))).toThrow(/lengths differ.*\[1, 2, 6, 3\]/);
    expect(() => E.scaledDotProductAttention(z([1, 2, 4, 8]), z([1, 3, 5, 8]), z([1, 3, 5, 3]))).toThrow(/share B and H/);
  });

  it('keeps nothing after the graph is gone', async () => {
    const e = await getEngine();
    const [q, k, v] = qkvInputs(cases[1], 29).map((i) => {
      const t = E.fromTypedArray(e, i.data, i.shape);
      t.requiresGrad = true;
      return t;
    });
    await e.sync();
    const before = e.liveTensors;
    E.tidy(() => E.backward(E.sum(E.scaledDotProductAttention(q, k, v, { causal: true }).out)));
    expect(e.liveTensors).toBe(before + 3); // the three .grad
    E.zeroGrad([q, k, v]);
    E.tidy(() => {
      const r = E.scaledDotProductAttention(q, k, v, { returnWeights: true });
      E.backward(E.sum(r.weights!));
    });
    expect(e.liveTensors).toBe(before + 3); // q.grad, k.grad and v.grad (zeros: one node for out and weights)
    E.zeroGrad([q, k, v]);
    E.noGrad(() => E.scaledDotProductAttention(q, k, v).out).dispose();
    expect(e.liveTensors).toBe(before);
  });
});

describe('multiHeadAttention', () => {
  const mhaCases = [
    { B: 2, T: 5, E: 8, heads: 2, bias: true },
    { B: 1, T: 4, E: 6, heads: 3, bias: false },
    { B: 2, T: 3, E: 4, heads: 1, bias: true },
  ];
  for (const c of mhaCases) {
    for (const causal of [false, true]) {
      const tag = `B${c.B} T${c.T} E${c.E} heads${c.heads}${c.bias ? '' : ' no bias'}${causal ? ' causal' : ''}`;
      const { B, T, E: Em, heads } = c;
      const inputs = [
        { shape: [B, T, Em], data: randArray(B * T * Em, Em + T) },
        { shape: [3 * Em, Em], data: randArray(3 * Em * Em, 2, -0.6, 0.6) },
        { shape: [Em, Em], data: randArray(Em * Em, 3, -0.6, 0.6) },
        ...(c.bias
          ? [
              { shape: [3 * Em], data: randArray(3 * Em, 4, -0.3, 0.3) },
              { shape: [Em], data: randArray(Em, 5, -0.3, 0.3) },
            ]
          : []),
      ];
      const dims = { B, T, E: Em, heads };
      it(`output forward + backward (x and all parameters), ${tag}`, async () => {
        const e = await getEngine();
        await checkForwardBackward(e, {
          label: 'mha ' + tag,
          inputs,
          gpu: ([x, wi, wo, bi, bo]) => {
            const r = E.multiHeadAttention(x, wi, bi ?? null, wo, bo ?? null, { heads, causal });
            expect(r.out.shape).toEqual([B, T, Em]);
            return r.out;
          },
          cpu: ([x, wi, wo, bi, bo]) => mhaRef(x, dims, wi, bi ?? null, wo, bo ?? null, causal).out,
          fwdTol: FWD,
          bwdTol: BWD,
        });
      });
      it(`per-head weights [B, heads, T, T] forward + backward, ${tag}`, async () => {
        const e = await getEngine();
        await checkForwardBackward(e, {
          label: 'mha weights ' + tag,
          inputs,
          diff: [true, true, false, true, false], // out_proj does not affect the weights
          gpu: ([x, wi, wo, bi, bo]) => {
            const r = E.multiHeadAttention(x, wi, bi ?? null, wo, bo ?? null, { heads, causal, returnWeights: true });
            expect(r.weights!.shape).toEqual([B, heads, T, T]);
            return r.weights!;
          },
          cpu: ([x, wi, wo, bi, bo]) => mhaRef(x, dims, wi, bi ?? null, wo, bo ?? null, causal).weights,
          fwdTol: FWD,
          bwdTol: BWD,
        });
      });
    }
  }

  it('equals the manual per-head computation (slices of in_proj, SDPA per head, concat, out_proj)', async () => {
    const e = await getEngine();
    const [B, T, Em, heads] = [2, 7, 12, 3];
    const hd = Em / heads;
    const x = E.fromTypedArray(e, randArray(B * T * Em, 31), [B, T, Em]);
    const wi = E.fromTypedArray(e, randArray(3 * Em * Em, 32, -0.5, 0.5), [3 * Em, Em]);
    const bi = E.fromTypedArray(e, randArray(3 * Em, 33, -0.2, 0.2), [3 * Em]);
    const wo = E.fromTypedArray(e, randArray(Em * Em, 34, -0.5, 0.5), [Em, Em]);
    const bo = E.fromTypedArray(e, randArray(Em, 35, -0.2, 0.2), [Em]);
    for (const causal of [false, true]) {
      const r = E.multiHeadAttention(x, wi, bi, wo, bo, { heads, causal, returnWeights: true });
      const outs: E.Tensor[] = [];
      for (let h = 0; h < heads; h++) {
        // Head h uses rows which·E + h·hd … of in_proj_weight for which = q, k, v.
        const proj = (which: number): E.Tensor => {
          const w = E.slice(wi, [which * Em + h * hd, 0], [hd, Em]); // [hd, E]
          const b = E.slice(bi, [which * Em + h * hd], [hd]); // [hd]
          return E.reshape(E.linear(x, w, b), [B, 1, T, hd]);
        };
        const a = E.scaledDotProductAttention(proj(0), proj(1), proj(2), { causal, returnWeights: true });
        outs.push(E.reshape(a.out, [B, T, hd]));
        const wh = await a.weights!.read();
        const wAll = await r.weights!.read();
        for (let b = 0; b < B; b++) {
          expectClose(
            wAll.slice((b * heads + h) * T * T, (b * heads + h + 1) * T * T),
            wh.slice(b * T * T, (b + 1) * T * T),
            FWD,
            `weights b${b} h${h}`,
          );
        }
      }
      const manual = E.linear(E.concat(outs, 2), wo, bo);
      expectClose(await r.out.read(), await manual.read(), FWD, `out ${causal ? 'causal' : 'full'}`);
    }
  });

  it('shape errors name the shapes; intermediates are freed with the graph', async () => {
    const e = await getEngine();
    const z = (s: number[]): E.Tensor => E.zeros(e, s);
    expect(() => E.multiHeadAttention(z([2, 3, 8]), z([24, 8]), null, z([8, 8]), null, { heads: 3 })).toThrow(/not divisible by heads = 3.*\[2, 3, 8\]/);
    expect(() => E.multiHeadAttention(z([2, 3, 8]), z([8, 24]), null, z([8, 8]), null, { heads: 2 })).toThrow(/in_proj_weight \[24, 8\].*\[8, 24\]/);
    expect(() => E.multiHeadAttention(z([2, 3, 8]), z([24, 8]), z([8]), z([8, 8]), null, { heads: 2 })).toThrow(E.ShapeError);
    expect(() => E.multiHeadAttention(z([3, 8]), z([24, 8]), null, z([8, 8]), null, { heads: 2 })).toThrow(/\[B, T, E\].*\[3, 8\]/);

    const x = E.fromTypedArray(e, randArray(2 * 3 * 8, 41), [2, 3, 8]);
    const params = [z([24, 8]), z([24]), z([8, 8]), z([8])];
    params.forEach((p, i) => {
      E.fillTensor(p, 0.1 * (i + 1));
      p.requiresGrad = true;
    });
    await e.sync();
    const before = e.liveTensors;
    E.tidy(() => {
      const r = E.multiHeadAttention(x, params[0], params[1], params[2], params[3], { heads: 2, causal: true, returnWeights: true });
      E.backward(E.sum(r.out));
    });
    expect(e.liveTensors).toBe(before + 4); // one .grad per parameter
    E.zeroGrad(params);
    E.noGrad(() => E.multiHeadAttention(x, params[0], params[1], params[2], params[3], { heads: 2 }).out).dispose();
    expect(e.liveTensors).toBe(before);
  });
});
