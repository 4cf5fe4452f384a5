/**
 * rnnSequence / gruSequence / lstmSequence against the float64 reference
 * (test/engine/reference/recurrent.ts): forward (output, hN, cN), gradients
 * w.r.t. x, h0, c0, every weight and bias against central finite differences
 * of the reference, and, for long sequences, against the reference's analytic
 * BPTT (itself checked against finite differences here).
 * Tolerances: forward rtol 1e-5 with an absolute floor of 1e-5·max|y|;
 * gradients rtol 1e-3, floor 1e-4·max|g| (f32 sums through T steps).
 */
import { describe, expect, it } from 'vitest';
import {
  concat,
  fromTypedArray,
  grad,
  gruSequence,
  lstmSequence,
  noGrad,
  reshape,
  rnnSequence,
  ShapeError,
  type Tensor,
  tidy,
} from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray } from './helpers.ts';
import {
  type CellKind,
  GATES,
  type SeqArgs,
  type SeqDims,
  sequenceBackwardRef,
  sequenceRef,
} from './reference/recurrent.ts';

const FWD = { rtol: 1e-5, atol: 1e-5 };
const BWD = { rtol: 1e-3, atol: 1e-4 };

interface Case extends SeqDims {
  kind: CellKind;
  h0?: boolean;
  bias?: boolean;
  reverse?: boolean;
}

/** Input names in the order the GPU op and the reference take them (absent ones skipped). */
function inputList(c: Case): Array<{ name: keyof SeqArgs; shape: number[] }> {
  const G = GATES[c.kind];
  const list: Array<{ name: keyof SeqArgs; shape: number[] }> = [{ name: 'x', shape: [c.B, c.T, c.I] }];
  if (c.h0 ?? true) {
    list.push({ name: 'h0', shape: [c.B, c.H] });
    if (c.kind === 'lstm') list.push({ name: 'c0', shape: [c.B, c.H] });
  }
  list.push({ name: 'wIh', shape: [G * c.H, c.I] }, { name: 'wHh', shape: [G * c.H, c.H] });
  if (c.bias ?? true) list.push({ name: 'bIh', shape: [G * c.H] }, { name: 'bHh', shape: [G * c.H] });
  return list;
}

/** Random inputs; weights scaled like PyTorch's init (±1/√H) times 2 so gates are not all linear. */
function makeData(c: Case, seed: number): Float32Array[] {
  const w = 2 / Math.sqrt(c.H);
  return inputList(c).map(({ name, shape }, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const scale = name === 'x' || name === 'h0' || name === 'c0' ? 1 : w;
    return randArray(n, seed * 31 + k, -scale, scale);
  });
}

function toArgs<T>(c: Case, vals: readonly T[]): Record<keyof SeqArgs, T | null> {
  const out: Record<keyof SeqArgs, T | null> = { x: null, h0: null, c0: null, wIh: null, wHh: null, bIh: null, bHh: null };
  inputList(c).forEach(({ name }, k) => (out[name] = vals[k]));
  return out;
}

function runGpu(c: Case, ts: readonly Tensor[]): { output: Tensor; hN: Tensor; cN: Tensor | null } {
  const a = toArgs(c, ts);
  const opt = { reverse: c.reverse ?? false };
  if (c.kind === 'lstm') return lstmSequence(a.x!, a.h0, a.c0, a.wIh!, a.wHh!, a.bIh, a.bHh, opt);
  if (c.kind === 'gru') return { ...gruSequence(a.x!, a.h0, a.wIh!, a.wHh!, a.bIh, a.bHh, opt), cN: null };
  return { ...rnnSequence(a.x!, a.h0, a.wIh!, a.wHh!, a.bIh, a.bHh, { ...opt, nonlinearity: c.kind === 'rnnRelu' ? 'relu' : 'tanh' }), cN: null };
}

function runRef(c: Case, xs: ReadonlyArray<ArrayLike<number>>): ReturnType<typeof sequenceRef> {
  const a = toArgs(c, xs);
  return sequenceRef(c.kind, c, { x: a.x!, h0: a.h0, c0: a.c0, wIh: a.wIh!, wHh: a.wHh!, bIh: a.bIh, bHh: a.bHh }, c.reverse ?? false);
}

function concatF64(parts: ReadonlyArray<ArrayLike<number>>): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function label(c: Case): string {
  return `${c.kind} B${c.B} T${c.T} I${c.I} H${c.H}${c.h0 === false ? ' no h0' : ''}${c.bias === false ? ' no bias' : ''}${c.reverse ? ' reverse' : ''}`;
}

/** Forward + gradients of Σ w·[output, hN, cN] w.r.t. every input, vs finite differences of the reference. */
async function checkCase(c: Case, seed: number): Promise<void> {
  const e = await getEngine();
  const data = makeData(c, seed);
  await checkForwardBackward(e, {
    label: label(c),
    inputs: inputList(c).map(({ shape }, k) => ({ shape, data: data[k] })),
    gpu: (ts) => {
      const r = runGpu(c, ts);
      const parts = [reshape(r.output, [-1]), reshape(r.hN, [-1])];
      if (r.cN) parts.push(reshape(r.cN, [-1]));
      return concat(parts, 0);
    },
    cpu: (xs) => {
      const r = runRef(c, xs);
      return concatF64(c.kind === 'lstm' ? [r.output, r.hN, r.cN] : [r.output, r.hN]);
    },
    fwdTol: FWD,
    bwdTol: BWD,
    seed,
  });
}

describe('recurrent reference', () => {
  const kinds: CellKind[] = ['rnnTanh', 'rnnRelu', 'gru', 'lstm'];
  for (const kind of kinds) {
    for (const reverse of [false, true]) {
      it(`analytic BPTT agrees with finite differences (float64): ${kind}${reverse ? ' reverse' : ''}`, () => {
        const c: Case = { kind, B: 2, T: 3, I: 2, H: 3, reverse };
        const data = makeData(c, 3).map((v) => Float64Array.from(v));
        const a = toArgs(c, data);
        const args: SeqArgs = { x: a.x!, h0: a.h0, c0: a.c0, wIh: a.wIh!, wHh: a.wHh!, bIh: a.bIh, bHh: a.bHh };
        const gOut = Float64Array.from(randArray(c.B * c.T * c.H, 5));
        const gH = Float64Array.from(randArray(c.B * c.H, 6));
        const gC = Float64Array.from(randArray(c.B * c.H, 7));
        const loss = (): number => {
          const r = sequenceRef(kind, c, args, reverse);
          let s = 0;
          r.output.forEach((v, i) => (s += v * gOut[i]));
          r.hN.forEach((v, i) => (s += v * gH[i]));
          if (kind === 'lstm') r.cN.forEach((v, i) => (s += v * gC[i]));
          return s;
        };
        const g = sequenceBackwardRef(kind, c, args, reverse, gOut, gH, kind === 'lstm' ? gC : null);
        const pairs: Array<[keyof SeqArgs, Float64Array]> = [
          ['x', g.dx], ['h0', g.dh0], ['wIh', g.dWih], ['wHh', g.dWhh], ['bIh', g.dbIh], ['bHh', g.dbHh],
        ];
        if (kind === 'lstm') pairs.push(['c0', g.dc0]);
        const eps = 1e-6;
        for (const [name, analytic] of pairs) {
          const v = a[name]!;
          for (let i = 0; i < v.length; i++) {
            const keep = v[i];
            v[i] = keep + eps;
            const lp = loss();
            v[i] = keep - eps;
            const lm = loss();
            v[i] = keep;
            expect(Math.abs((lp - lm) / (2 * eps) - analytic[i]), `${name}[${i}]`).toBeLessThan(1e-7);
          }
        }
      });
    }
  }
});

describe('rnnSequence / gruSequence / lstmSequence: forward and gradients vs finite differences', () => {
  const cases: Case[] = [
    { kind: 'rnnTanh', B: 2, T: 3, I: 3, H: 5 },
    { kind: 'rnnTanh', B: 2, T: 3, I: 3, H: 5, reverse: true },
    { kind: 'rnnRelu', B: 2, T: 3, I: 3, H: 5 },
    { kind: 'rnnRelu', B: 3, T: 2, I: 2, H: 3, reverse: true, h0: false, bias: false },
    { kind: 'gru', B: 2, T: 3, I: 3, H: 5 },
    { kind: 'gru', B: 2, T: 3, I: 3, H: 5, reverse: true },
    { kind: 'gru', B: 2, T: 4, I: 2, H: 3, h0: false },
    { kind: 'gru', B: 2, T: 3, I: 2, H: 3, h0: false, bias: false, reverse: true },
    { kind: 'lstm', B: 2, T: 3, I: 3, H: 5 },
    { kind: 'lstm', B: 2, T: 3, I: 3, H: 5, reverse: true },
    { kind: 'lstm', B: 2, T: 4, I: 2, H: 3, h0: false, bias: false },
    // T = 1 and B = 1
    { kind: 'rnnTanh', B: 1, T: 1, I: 4, H: 6 },
    { kind: 'gru', B: 1, T: 1, I: 4, H: 6 },
    { kind: 'gru', B: 3, T: 1, I: 2, H: 3, reverse: true },
    { kind: 'lstm', B: 1, T: 1, I: 4, H: 6 },
    { kind: 'lstm', B: 1, T: 5, I: 2, H: 2, reverse: true },
  ];
  cases.forEach((c, k) => {
    it(label(c), async () => {
      await checkCase(c, 10 + k);
    });
  });
});

/** Reads every gradient and compares with the analytic reference. */
async function expectGrads(
  c: Case, ts: readonly Tensor[], gs: readonly Tensor[], data: readonly Float32Array[],
  gOut: ArrayLike<number>, gH: ArrayLike<number>, gC: ArrayLike<number> | null, tag: string,
): Promise<void> {
  const a = toArgs(c, data);
  const ref = sequenceBackwardRef(c.kind, c, { x: a.x!, h0: a.h0, c0: a.c0, wIh: a.wIh!, wHh: a.wHh!, bIh: a.bIh, bHh: a.bHh }, c.reverse ?? false, gOut, gH, gC);
  const byName: Record<keyof SeqArgs, Float64Array> = {
    x: ref.dx, h0: ref.dh0, c0: ref.dc0, wIh: ref.dWih, wHh: ref.dWhh, bIh: ref.dbIh, bHh: ref.dbHh,
  };
  const names = inputList(c).map((i) => i.name);
  expect(gs.length).toBe(ts.length);
  for (let k = 0; k < gs.length; k++) {
    expectClose(await gs[k].read(), byName[names[k]], BWD, `${label(c)} ${tag} d${names[k]}`);
  }
}

describe('gradients from one output only (the others get none)', () => {
  for (const kind of ['rnnTanh', 'gru', 'lstm'] as const) {
    for (const which of ['output', 'hN', ...(kind === 'lstm' ? ['cN'] : [])] as const) {
      it(`${kind}: loss from ${which} only`, async () => {
        const e = await getEngine();
        const c: Case = { kind, B: 3, T: 4, I: 3, H: 5, reverse: which === 'hN' };
        const data = makeData(c, 40);
        const ts = inputList(c).map(({ shape }, k) => {
          const t = fromTypedArray(e, data[k], shape);
          t.requiresGrad = true;
          return t;
        });
        const r = runGpu(c, ts);
        const out = which === 'output' ? r.output : which === 'hN' ? r.hN : r.cN!;
        const seed = randArray(out.size, 41);
        const gs = grad(out, ts, { gradOutputs: [fromTypedArray(e, seed, out.shape)] });
        const zOut = new Float64Array(c.B * c.T * c.H);
        const zH = new Float64Array(c.B * c.H);
        await expectGrads(
          c, ts, gs, data,
          which === 'output' ? seed : zOut,
          which === 'hN' ? seed : zH,
          kind === 'lstm' ? (which === 'cN' ? seed : zH) : null,
          which,
        );
      });
    }
  }
});

describe('MNIST-row sized sequences (B=8, T=28, I=28, H=32)', () => {
  const kinds: CellKind[] = ['rnnTanh', 'rnnRelu', 'gru', 'lstm'];
  for (const kind of kinds) {
    for (const reverse of [false, true]) {
      it(`${kind}${reverse ? ' reverse' : ''}: forward (inference path) matches the reference`, async () => {
        const e = await getEngine();
        const c: Case = { kind, B: 8, T: 28, I: 28, H: 32, reverse };
        const data = makeData(c, 60);
        const ts = inputList(c).map(({ shape }, k) => fromTypedArray(e, data[k], shape));
        const r = noGrad(() => runGpu(c, ts));
        const ref = runRef(c, data);
        expectClose(await r.output.read(), ref.output, FWD, `${kind} output`);
        expectClose(await r.hN.read(), ref.hN, FWD, `${kind} hN`);
        if (r.cN) expectClose(await r.cN.read(), ref.cN, FWD, `${kind} cN`);
        for (const t of [...ts, r.output, r.hN, r.cN]) t?.dispose();
      });
    }
  }

  for (const kind of ['rnnTanh', 'gru', 'lstm'] as const) {
    it(`${kind}: gradients of Σ R1·output + Σ R2·hN (+ Σ R3·cN) match the analytic BPTT reference`, async () => {
      const e = await getEngine();
      const c: Case = { kind, B: 8, T: 28, I: 28, H: 32, reverse: kind === 'gru' };
      const data = makeData(c, 70);
      const ts = inputList(c).map(({ shape }, k) => {
        const t = fromTypedArray(e, data[k], shape);
        t.requiresGrad = true;
        return t;
      });
      const r = runGpu(c, ts);
      const ref = runRef(c, data);
      expectClose(await r.output.read(), ref.output, FWD, `${kind} output`);
      expectClose(await r.hN.read(), ref.hN, FWD, `${kind} hN`);
      const gOut = randArray(c.B * c.T * c.H, 71);
      const gH = randArray(c.B * c.H, 72);
      const gC = randArray(c.B * c.H, 73);
      const outs = [r.output, r.hN];
      const seeds = [fromTypedArray(e, gOut, r.output.shape), fromTypedArray(e, gH, r.hN.shape)];
      if (r.cN) {
        outs.push(r.cN);
        seeds.push(fromTypedArray(e, gC, r.cN.shape));
      }
      const gs = grad(outs, ts, { gradOutputs: seeds });
      await expectGrads(c, ts, gs, data, gOut, gH, kind === 'lstm' ? gC : null, 'T=28');
      for (const t of [...ts, ...outs, ...seeds, ...gs]) t.dispose();
    });
  }
});

describe('GPU work shape', () => {
  it('forward is 2 dispatches per step and forward + backward never submit (no readback)', async () => {
    const e = await getEngine();
    const c: Case = { kind: 'gru', B: 4, T: 10, I: 6, H: 8 };
    const data = makeData(c, 80);
    const ts = inputList(c).map(({ shape }, k) => {
      const t = fromTypedArray(e, data[k], shape);
      t.requiresGrad = true;
      return t;
    });
    await e.sync();
    const m0 = e.memory();
    const r = runGpu(c, ts);
    const m1 = e.memory();
    // input projection GEMM + T × (recurrent GEMM + cell)
    expect(m1.dispatches - m0.dispatches).toBe(1 + 2 * c.T);
    const gs = grad([r.output, r.hN], ts);
    const m2 = e.memory();
    // T × (cell backward + GEMM) + carry fill + whole-sequence GEMMs and bias sums
    expect(m2.dispatches - m1.dispatches).toBeLessThanOrEqual(2 * c.T + 12);
    expect(m2.submits).toBe(m0.submits);
    for (const t of [...ts, r.output, r.hN, ...gs]) t.dispose();
  });

  it('frees every internal and saved tensor (tidy around forward + backward)', async () => {
    const e = await getEngine();
    const c: Case = { kind: 'lstm', B: 2, T: 5, I: 3, H: 4, reverse: true };
    const data = makeData(c, 90);
    const ts = inputList(c).map(({ shape }, k) => {
      const t = fromTypedArray(e, data[k], shape);
      t.requiresGrad = true;
      return t;
    });
    const before = e.memory().liveTensors;
    const norm = tidy(() => {
      const r = runGpu(c, ts);
      const gs = grad([r.output, r.hN, r.cN!], ts);
      return gs[3]; // dW_ih survives the scope
    });
    expect(e.memory().liveTensors).toBe(before + 1);
    norm.dispose();
    // The backward still works when only hN outlives output (views of the saved tensors).
    const r = runGpu(c, ts);
    r.output.dispose();
    const [gx] = grad(r.hN, [ts[0]]);
    const a = toArgs(c, data);
    const ref = sequenceBackwardRef(c.kind, c, { x: a.x!, h0: a.h0, c0: a.c0, wIh: a.wIh!, wHh: a.wHh!, bIh: a.bIh, bHh: a.bHh }, true,
      new Float64Array(c.B * c.T * c.H), new Float64Array(c.B * c.H).fill(1), new Float64Array(c.B * c.H));
    expectClose(await gx.read(), ref.dx, BWD, 'dx from hN only after output was disposed');
    for (const t of [gx, r.hN, r.cN]) t?.dispose();
    expect(e.memory().liveTensors).toBe(before);
    for (const t of ts) t.dispose();
  });
});

describe('shape errors', () => {
  it('throws ShapeError for bad shapes and dtypes', async () => {
    const e = await getEngine();
    const t = (shape: number[]): Tensor => fromTypedArray(e, new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    const [B, T, I, H] = [2, 3, 4, 5];
    const x = t([B, T, I]);
    expect(() => rnnSequence(t([B * T, I]), null, t([H, I]), t([H, H]), null, null)).toThrow(ShapeError); // x rank 2
    expect(() => rnnSequence(x, null, t([H, I + 1]), t([H, H]), null, null)).toThrow(ShapeError); // W_ih columns ≠ I
    expect(() => rnnSequence(x, null, t([H, I]), t([H, H + 1]), null, null)).toThrow(ShapeError); // W_hh not square
    expect(() => rnnSequence(x, t([B + 1, H]), t([H, I]), t([H, H]), null, null)).toThrow(ShapeError); // h0 batch
    expect(() => rnnSequence(x, null, t([H, I]), t([H, H]), t([H + 1]), null)).toThrow(ShapeError); // b_ih size
    expect(() => gruSequence(x, null, t([H, I]), t([H, H]), null, null)).toThrow(ShapeError); // GRU needs 3H rows
    expect(() => gruSequence(x, null, t([3 * H, I]), t([3 * H, H]), t([3 * H]), t([4 * H]))).toThrow(ShapeError); // b_hh size
    expect(() => lstmSequence(x, null, null, t([3 * H, I]), t([3 * H, H]), null, null)).toThrow(ShapeError); // LSTM needs 4H rows
    expect(() => lstmSequence(x, t([B, H]), t([B, H + 1]), t([4 * H, I]), t([4 * H, H]), null, null)).toThrow(ShapeError); // c0
    expect(() => rnnSequence(t([B, 0, I]), null, t([H, I]), t([H, H]), null, null)).toThrow(ShapeError); // empty sequence
    const xi = fromTypedArray(e, new Int32Array(B * T * I), [B, T, I]);
    expect(() => rnnSequence(xi, null, t([H, I]), t([H, H]), null, null)).toThrow(ShapeError); // dtype
    // The valid call works.
    const ok = lstmSequence(x, t([B, H]), t([B, H]), t([4 * H, I]), t([4 * H, H]), t([4 * H]), t([4 * H]));
    expect(ok.output.shape).toEqual([B, T, H]);
    expect(ok.hN.shape).toEqual([B, H]);
    expect(ok.cN.shape).toEqual([B, H]);
  });
});
