/**
 * buildModel: the one interpreter that runs a layer graph on the engine.
 * It creates every parameter describeGraph lists (PyTorch's default
 * initialisation, or He/Glorot per graph.init; seeded per parameter name, so
 * the same seed gives the same weights whatever else the graph contains) and
 * a forward that walks the graph calling engine ops.
 *
 * forward(x) takes RAW pixels 0..255 as float32 [N, C, H, W] (the graph's
 * first layer normalises) and returns logits [N, classes]. Call it inside
 * tidy() together with backward: intermediate tensors live in the caller's
 * scope, as every op's outputs do. `capture(name, t)` receives each layer's
 * output (names = layer paths, e.g. `layers.4.body.1`) and, for transformer
 * blocks, the attention weights as `<path>.attn` [N, heads, T, T]; capturing
 * turns off conv/linear + activation fusion so every layer's output exists.
 */
import type { Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { noGrad } from '../core/tape.ts';
import { fromTypedArray, full, type Tensor } from '../core/tensor.ts';
import { type Activation, activate, defaultAlpha } from '../ops/activations.ts';
import { conv2d } from '../ops/conv.ts';
import { conv2dReluPool } from '../ops/conv-pool.ts';
import { dropout } from '../ops/dropout.ts';
import { add, addScalar } from '../ops/elementwise.ts';
import { linear } from '../ops/matmul.ts';
import { batchNorm, layerNorm } from '../ops/norm.ts';
import { adaptiveAvgPool2d, avgPool2d, globalAvgPool2d, maxPool2d } from '../ops/pool.ts';
import { max, mean, broadcastTo } from '../ops/reduce.ts';
import { concat, flatten, permute, reshape, slice, transpose } from '../ops/shape.ts';
import { kaimingNormal, xavierUniform, uniformFanIn } from '../nn/init.ts';
import { createPixelNormalizer, normalizePixels, type PixelNormalizer } from '../nn/normalize.ts';
import { sinusoidalPositions } from '../nn/positions.ts';
import { stackedRecurrent } from '../nn/recurrent.ts';
import { optionAShortcut } from '../nn/shortcut.ts';
import { transformerBlock } from '../nn/transformer.ts';
import { randNormal } from '../core/rng.ts';
import { asPair, describeGraph, type GraphDescription, optionAStride, type ParamInfo } from './describe.ts';
import type { InitScheme, LayerSpec, ModelGraph } from './graph.ts';

export interface ForwardOptions {
  /** Training mode: batch statistics in BatchNorm (running stats updated), dropout active. */
  training: boolean;
  /** Receives every layer's output by layer path (feature maps for the Inspect view). */
  capture?: (name: string, t: Tensor) => void;
  /**
   * x is already normalised with inputNormalizer()'s constants (the
   * trainer's unpack kernel does it): skip the model's leading normalize layer.
   */
  normalized?: boolean;
}

export interface BuildOptions {
  /** Initialisation seed: same seed (and adapter) → same weights. */
  seed: number;
}

export interface Model {
  readonly graph: ModelGraph;
  readonly description: GraphDescription;
  /** x: raw pixels 0..255, float32 [N, C, H, W] → logits [N, classes]. */
  forward(x: Tensor, opt: ForwardOptions): Tensor;
  /** Trainable parameters by state_dict name, in state_dict order. */
  parameters(): Map<string, Tensor>;
  /** BatchNorm running_mean / running_var / num_batches_tracked (f32), in state_dict order. */
  buffers(): Map<string, Tensor>;
  /** Frees parameters, buffers and constants. Idempotent. */
  dispose(): void;
  /** The leading normalize layer's constants (null when the graph does not start with one). */
  inputNormalizer(): PixelNormalizer | null;
}

/** cyrb53 (public domain string hash) → a 53-bit seed per (seed, parameter name). */
export function parameterSeed(seed: number, name: string): number {
  let h1 = 0xdeadbeef ^ (seed >>> 0);
  let h2 = 0x41c6ce57 ^ Math.floor(seed / 2 ** 32);
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Creates one parameter with the initialiser its role and the scheme call for. */
function initParameter(engine: Engine, p: ParamInfo, scheme: InitScheme, seed: number): Tensor {
  const s = parameterSeed(seed, p.name);
  switch (p.role) {
    case 'normWeight':
      return full(engine, p.shape, 1);
    case 'normBias':
    case 'zero':
      return full(engine, p.shape, 0);
    case 'embedding':
      return randNormal(engine, p.shape, { seed: s, std: 0.02 });
    case 'attnInProj':
      return xavierUniform(engine, p.shape, { seed: s });
    case 'weight':
    case 'recurrentWeight':
      if (scheme === 'he') return kaimingNormal(engine, p.shape, { seed: s, nonlinearity: 'relu' });
      if (scheme === 'glorot') return xavierUniform(engine, p.shape, { seed: s });
      return uniformFanIn(engine, p.shape, p.fanIn, { seed: s });
    case 'bias':
    case 'recurrentBias':
      if (scheme !== 'default') return full(engine, p.shape, 0);
      return uniformFanIn(engine, p.shape, p.fanIn, { seed: s });
  }
}

interface RunContext {
  training: boolean;
  capture?: (name: string, t: Tensor) => void;
  /** Skip the root list's leading normalize layer (ForwardOptions.normalized). */
  normalized?: boolean;
}

class GraphModel implements Model {
  readonly description: GraphDescription;
  private readonly params = new Map<string, Tensor>();
  private readonly bufs = new Map<string, Tensor>();
  private readonly constants = new Map<string, Tensor>();
  private normalizer: PixelNormalizer | null = null;
  /** Shared storage of every num_batches_tracked buffer (null without BatchNorm). */
  private batchCounter: Tensor | null = null;
  private disposed = false;

  constructor(
    readonly engine: Engine,
    readonly graph: ModelGraph,
    seed: number,
  ) {
    this.description = describeGraph(graph);
    try {
      for (const p of this.description.parameters) {
        const t = initParameter(engine, p, graph.init, seed).keep();
        t.requiresGrad = true;
        t.name = p.name;
        this.params.set(p.name, t);
      }
      for (const b of this.description.buffers) {
        let t: Tensor;
        if (b.role === 'numBatchesTracked') {
          // Every BatchNorm sees every training batch, so all counters are views of one
          // scalar: one increment per training forward instead of one per layer.
          this.batchCounter ??= full(engine, [], 0).keep();
          t = this.batchCounter.view([]).keep();
        } else {
          t = full(engine, b.shape, b.role === 'runningVar' ? 1 : 0).keep();
        }
        t.name = b.name;
        this.bufs.set(b.name, t);
      }
      this.createConstants();
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Normaliser constants and sinusoidal tables (not state: rebuilt from the graph). */
  private createConstants(): void {
    for (const row of this.description.rows) {
      const spec = this.specAt(row.name);
      if (spec?.type === 'normalize') this.normalizer = createPixelNormalizer(this.engine, spec.mean, spec.std);
      if (spec?.type === 'positions' && spec.kind === 'sinusoidal') {
        const [t, d] = row.inputShape;
        const table = fromTypedArray(this.engine, sinusoidalPositions(t, d), [1, t, d]).keep(); // [1, T, D]
        this.constants.set(row.name, table);
      }
    }
  }

  /** The spec at a layer path like `layers.4.body.1`. */
  private specAt(path: string): LayerSpec | undefined {
    const parts = path.split('.');
    let list: readonly LayerSpec[] = this.graph.layers;
    let spec: LayerSpec | undefined;
    for (let i = 1; i < parts.length; i++) {
      const key = parts[i];
      if (/^\d+$/.test(key)) {
        spec = list[Number(key)];
        continue;
      }
      if (spec?.type === 'residual' && key === 'body') list = spec.body;
      else if (spec?.type === 'residual' && key === 'shortcut' && Array.isArray(spec.shortcut)) list = spec.shortcut;
      else if (spec?.type === 'concat' && key === 'branches') {
        list = spec.branches[Number(parts[++i])];
      } else return undefined;
    }
    return spec;
  }

  parameters(): Map<string, Tensor> {
    return new Map(this.params);
  }

  buffers(): Map<string, Tensor> {
    return new Map(this.bufs);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of [this.params, this.bufs, this.constants]) {
      for (const t of m.values()) t.dispose();
      m.clear();
    }
    this.batchCounter?.dispose();
    this.batchCounter = null;
    this.normalizer?.scale.dispose();
    this.normalizer?.shift.dispose();
    this.normalizer = null;
  }

  forward(x: Tensor, opt: ForwardOptions): Tensor {
    if (this.disposed) throw new ShapeError('model.forward', 'the model was disposed', [x.shape]);
    const want = this.graph.input;
    if (x.rank !== 4 || x.shape[1] !== want[0] || x.shape[2] !== want[1] || x.shape[3] !== want[2]) {
      throw new ShapeError('model.forward', `expects raw pixels [N, ${want.join(', ')}]`, [x.shape]);
    }
    const counter = this.batchCounter;
    if (opt.training && counter) {
      noGrad(() => {
        const inc = addScalar(counter, 1); // []
        counter.assign(inc);
        inc.dispose();
      });
    }
    if (opt.normalized && !this.inputNormalizer()) throw new ShapeError('model.forward', 'normalized input given, but the model has no leading normalize layer', [x.shape]);
    return this.runList(this.graph.layers, x, 'layers', { training: opt.training, capture: opt.capture, normalized: opt.normalized });
  }

  inputNormalizer(): PixelNormalizer | null {
    return this.graph.layers[0]?.type === 'normalize' ? this.normalizer : null;
  }

  private param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new ShapeError('model', `missing parameter ${name}`, []);
    return t;
  }

  private runList(layers: readonly LayerSpec[], x: Tensor, prefix: string, ctx: RunContext): Tensor {
    let h = x;
    for (let j = 0; j < layers.length; j++) {
      const spec = layers[j];
      const next = layers[j + 1];
      const path = `${prefix}.${j}`;
      if (j === 0 && ctx.normalized && layers === this.graph.layers && spec.type === 'normalize') continue; // done by the caller
      // conv → ReLU → 2×2/2 max-pool: the pool folded into the conv's forward kernel (ops/conv-pool.ts).
      const after = layers[j + 2];
      if (!ctx.capture && spec.type === 'conv2d' && next?.type === 'activation' && next.kind === 'relu' && after?.type === 'maxpool2d' && isPool2x2(after)) {
        h = conv2dReluPool(h, this.param(`${path}.weight`), spec.bias ? this.param(`${path}.bias`) : null, convOptions(spec));
        j += 2;
        continue;
      }
      // conv/linear followed by an activation: one kernel with a fused epilogue.
      if (!ctx.capture && next?.type === 'activation' && (spec.type === 'conv2d' || spec.type === 'linear')) {
        h = this.runLayer(spec, h, path, ctx, next.kind, next.alpha ?? defaultAlpha(next.kind));
        j++;
        continue;
      }
      h = this.runLayer(spec, h, path, ctx, 'none', 0);
      ctx.capture?.(path, h);
    }
    return h;
  }

  private runLayer(spec: LayerSpec, x: Tensor, path: string, ctx: RunContext, act: Activation, alpha: number): Tensor {
    const p = (suffix: string): Tensor => this.param(`${path}.${suffix}`);
    const n = x.shape[0];
    switch (spec.type) {
      case 'normalize':
        return normalizePixels(x, this.normalizer!); // [N, C, H, W]
      case 'conv2d':
        return conv2d(x, p('weight'), spec.bias ? p('bias') : null, { ...convOptions(spec), activation: act, alpha }); // [N, O, Ho, Wo]
      case 'linear':
        return linear(x, p('weight'), spec.bias ? p('bias') : null, act, alpha); // [N, (T,) out]
      case 'batchnorm':
        return batchNorm(x, p('weight'), p('bias'), this.bufs.get(`${path}.running_mean`)!, this.bufs.get(`${path}.running_var`)!, {
          training: ctx.training,
          momentum: spec.momentum,
          eps: spec.eps,
        });
      case 'layernorm':
        return layerNorm(x, p('weight'), p('bias'), { eps: spec.eps });
      case 'activation':
        return activate(x, spec.kind, spec.alpha ?? defaultAlpha(spec.kind));
      case 'dropout':
        return dropout(x, spec.p, { training: ctx.training });
      case 'maxpool2d':
        return maxPool2d(x, { kernel: asPair(spec.kernel), stride: asPair(spec.stride ?? spec.kernel), padding: asPair(spec.padding) });
      case 'avgpool2d':
        return avgPool2d(x, { kernel: asPair(spec.kernel), stride: asPair(spec.stride ?? spec.kernel), padding: asPair(spec.padding) });
      case 'globalavgpool':
        return globalAvgPool2d(x); // [N, C, 1, 1]
      case 'adaptiveavgpool':
        return adaptiveAvgPool2d(x, asPair(spec.size));
      case 'flatten':
        return flatten(x, 1); // [N, F]
      case 'residual': {
        const body = this.runList(spec.body, x, `${path}.body`, ctx);
        const sc = spec.shortcut;
        let y: Tensor;
        if (sc === 'none') y = body;
        else if (sc === 'identity') y = add(body, x);
        else if (!Array.isArray(sc)) {
          const inShape = x.shape.slice(1);
          const outShape = body.shape.slice(1);
          y = add(body, optionAShortcut(x, optionAStride(inShape, outShape), outShape[0]));
        } else y = add(body, this.runList(sc, x, `${path}.shortcut`, ctx));
        return spec.activation ? activate(y, spec.activation) : y;
      }
      case 'concat': {
        const outs = spec.branches.map((b, i) => this.runList(b, x, `${path}.branches.${i}`, ctx));
        return outs.length === 1 ? outs[0] : concat(outs, 1);
      }
      case 'recurrent': {
        // Image rows as a sequence: [N, C, H, W] → [N, H, C·W] (a free view when C = 1).
        let seq = x;
        if (x.rank === 4) {
          const [, c, h, w] = x.shape;
          seq = c === 1 ? reshape(x, [n, h, w]) : reshape(permute(x, [0, 2, 1, 3]), [n, h, c * w]);
        }
        const r = stackedRecurrent(seq, spec, p, ctx.training);
        return spec.readout === 'last' ? r.hN : max(r.output, 1); // [N, D·H]
      }
      case 'patchembed': {
        const e = conv2d(x, p('proj.weight'), p('proj.bias'), { stride: spec.patch }); // [N, D, h, w]
        const [, d, hh, ww] = e.shape;
        return transpose(reshape(e, [n, d, hh * ww]), 1, 2); // [N, T, D]
      }
      case 'clstoken': {
        const d = x.shape[2];
        const cls = broadcastTo(p('cls'), [n, 1, d]); // [N, 1, D]
        return concat([cls, x], 1); // [N, T+1, D]
      }
      case 'positions':
        return add(x, spec.kind === 'learned' ? p('pos') : this.constants.get(path)!); // [N, T, D]
      case 'transformerblock':
        return transformerBlock(x, p, {
          heads: spec.heads,
          dropout: spec.dropout,
          training: ctx.training,
          captureAttention: ctx.capture ? (w) => ctx.capture!(`${path}.attn`, w) : undefined,
        });
      case 'tokenpool': {
        if (spec.kind === 'mean') return mean(x, 1); // [N, D]
        const d = x.shape[2];
        return reshape(slice(x, [0, 0, 0], [n, 1, d]), [n, d]); // [N, D]
      }
    }
  }
}

/** Builds a model from a (parsed) graph: parameters initialised with the seed, ready to train. */
export function buildModel(engine: Engine, graph: ModelGraph, opt: BuildOptions): Model {
  return new GraphModel(engine, graph, opt.seed);
}

/** A conv2d layer's stride, padding, dilation and groups as conv2d options. */
function convOptions(spec: Extract<LayerSpec, { type: 'conv2d' }>): { stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number | undefined } {
  return { stride: asPair(spec.stride), padding: asPair(spec.padding), dilation: asPair(spec.dilation), groups: spec.groups };
}

/** Whether a max-pool layer is the plain 2×2, stride 2, unpadded one. */
function isPool2x2(spec: Extract<LayerSpec, { type: 'maxpool2d' }>): boolean {
  const [kH, kW] = asPair(spec.kernel);
  const [sH, sW] = asPair(spec.stride ?? spec.kernel);
  const [pH, pW] = asPair(spec.padding);
  return kH === 2 && kW === 2 && sH === 2 && sW === 2 && pH === 0 && pW === 0;
}
