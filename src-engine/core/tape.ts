/**
 * Reverse-mode autodiff.
 *
 * Every op that sees an input with `requiresGrad` (while grad mode is on)
 * calls `record(...)`, which attaches a GradNode to its output(s): the inputs
 * and a backward closure that maps output gradients to input gradients,
 * written next to the op's forward in its ops/ file. The tape is the DAG of
 * these nodes; `backward`/`grad` walk it in reverse topological order (the
 * same order a linear Wengert tape would be replayed), so no global list grows
 * and a graph that is dropped is garbage-collected with its tensors.
 *
 * Gradient tensors are disposed as soon as their node has consumed them;
 * aliasing (a backward that passes its incoming gradient straight through,
 * possibly to several inputs) is handled by tracking which gradients are
 * claimed. Backward runs in no-grad mode unless `createGraph` is set.
 */
import { ShapeError } from './errors.ts';
import { kernel, kernelFamily, Params, WGSL_MAIN_1D } from './kernel.ts';
import { scopeState, trackInScope } from './scope.ts';
import { sameShape } from './shape.ts';
import { empty, full, ones, Tensor } from './tensor.ts';

export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  /**
   * Gradients of the inputs (null where none) given the gradients of the
   * outputs (zeros filled in for outputs that received none).
   */
  readonly backward: (gradOutputs: readonly Tensor[]) => ReadonlyArray<Tensor | null>;
}

/** True when an op on these inputs must record a node (grad mode on and some input needs grad). */
export function needsGrad(...inputs: ReadonlyArray<Tensor | null | undefined>): boolean {
  return scopeState.gradEnabled && inputs.some((t) => t?.requiresGrad);
}

/**
 * Registers the backward of a single-output op. `backward(gy)` returns one
 * gradient per input (null for inputs without one, e.g. integer labels), each
 * with the shape of its input. No-op when no input needs grad.
 */
export function record(
  op: string,
  inputs: readonly Tensor[],
  output: Tensor,
  backward: (gy: Tensor) => ReadonlyArray<Tensor | null>,
): Tensor {
  recordMulti(op, inputs, [output], (gys) => backward(gys[0]));
  return output;
}

/** Registers the backward of an op with several outputs (RNN: sequence and final state, …). */
export function recordMulti(
  op: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  backward: (gys: readonly Tensor[]) => ReadonlyArray<Tensor | null>,
): void {
  if (!needsGrad(...inputs)) return;
  const node: GradNode = { op, inputs: [...inputs], outputs: [...outputs], backward };
  outputs.forEach((o, i) => {
    if (o.dtype !== 'f32') return;
    o.node = node;
    o.outputIndex = i;
    o.requiresGrad = true;
  });
}

/** Runs `fn` without recording autodiff nodes (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = scopeState.gradEnabled;
  scopeState.gradEnabled = false;
  try {
    return fn();
  } finally {
    scopeState.gradEnabled = prev;
  }
}

/** Runs `fn` with grad mode on even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = scopeState.gradEnabled;
  scopeState.gradEnabled = true;
  try {
    return fn();
  } finally {
    scopeState.gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return scopeState.gradEnabled;
}

/**
 * Runs `fn` (synchronously) and disposes every tensor created inside it that
 * is neither returned (found in the result, arrays and plain objects
 * searched) nor kept with `keep()`. Returned tensors move to the enclosing
 * scope. Call backward() inside the same tidy as the forward: the graph's
 * saved tensors are disposed when the scope ends.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<{ dispose(): void; readonly isDisposed: boolean }>();
  scopeState.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // Nothing of a failed scope is returned: free it all, then rethrow.
    scopeState.scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopeState.scopes.pop();
  const returned = new Set<Tensor>();
  collectTensors(result, returned, 0);
  for (const t of scope) if (!returned.has(t as Tensor)) t.dispose();
  for (const t of returned) if (!t.isDisposed && !t.isKept) trackInScope(t);
  return result;
}

function collectTensors(v: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectTensors(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v as Record<string, unknown>)) collectTensors(x, out, depth + 1);
  } else if (v instanceof Map) for (const x of v.values()) collectTensors(x, out, depth + 1);
}

/** Disposes every tensor found in a value (tensor, array, plain object). */
export function disposeAll(v: unknown): void {
  const s = new Set<Tensor>();
  collectTensors(v, s, 0);
  for (const t of s) t.dispose();
}

// ------------------------------------------------------------------ backward

export interface BackwardOptions {
  /**
   * Record the backward ops themselves (for higher-order gradients). Only
   * backward rules built from differentiable ops (matmul, shape ops, sums)
   * record anything; the fused mapN-based rules of elementwise/activation
   * ops do not, so second derivatives through them come out as zero.
   */
  createGraph?: boolean;
}

/**
 * Accumulates d(loss)/d(leaf) into `.grad` of every leaf with requiresGrad
 * that `loss` depends on. The seed is ones of loss's shape unless `gradient`
 * is given (it is not disposed). The graph's nodes are kept: calling
 * backward twice on one graph accumulates twice.
 */
export function backward(loss: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  const leafGrads = run([loss], gradient ? [gradient] : null, null, options);
  for (const [leaf, g] of leafGrads) {
    if (leaf.grad) {
      const sum = addSameShape(leaf.grad, g);
      leaf.grad.dispose();
      g.dispose();
      leaf.grad = sum.keep();
    } else {
      leaf.grad = g.keep();
    }
  }
}

/**
 * Gradients of `outputs` (seeded with ones, or `gradOutputs`) with respect
 * to `inputs` (leaves or intermediates), without touching any `.grad`.
 * Inputs the outputs do not depend on get zeros.
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: readonly Tensor[],
  options: BackwardOptions & { gradOutputs?: readonly Tensor[] } = {},
): Tensor[] {
  const outs = outputs instanceof Tensor ? [outputs] : [...outputs];
  const found = run(outs, options.gradOutputs ?? null, new Set(inputs), options);
  return inputs.map((t) => found.get(t) ?? zerosLike(t));
}

/** Clears `.grad` of the given tensors (disposing it). */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}

function run(
  roots: readonly Tensor[],
  seeds: readonly Tensor[] | null,
  targets: Set<Tensor> | null,
  options: BackwardOptions,
): Map<Tensor, Tensor> {
  const isTarget = (t: Tensor): boolean => (targets ? targets.has(t) : t.requiresGrad && !t.node);
  // Post-order DFS over nodes: a node comes after the nodes producing its inputs.
  const order: GradNode[] = [];
  const reaches = new Map<GradNode, boolean>();
  const stack: Array<{ node: GradNode; next: number }> = [];
  const visit = (n: GradNode | null): void => {
    if (!n || reaches.has(n)) return;
    reaches.set(n, false);
    stack.push({ node: n, next: 0 });
    while (stack.length) {
      const top = stack[stack.length - 1];
      const inp = top.node.inputs[top.next++];
      if (inp) {
        if (inp.node && !reaches.has(inp.node)) {
          reaches.set(inp.node, false);
          stack.push({ node: inp.node, next: 0 });
        }
        continue;
      }
      stack.pop();
      reaches.set(
        top.node,
        top.node.inputs.some((t) => t.requiresGrad && (isTarget(t) || (t.node !== null && reaches.get(t.node) === true))),
      );
      order.push(top.node);
    }
  };
  for (const r of roots) visit(r.node);

  const grads = new Map<Tensor, Tensor>();
  const claimed = new Set<Tensor>();
  const external = new Set<Tensor>(seeds ?? []);
  const put = (t: Tensor, g: Tensor, candidates: Tensor[]): void => {
    if (!sameShape(t.shape, g.shape)) {
      throw new ShapeError(`backward of ${t.node?.op ?? 'op'}`, 'gradient shape differs from its input', [t.shape, g.shape]);
    }
    if (claimed.has(g) || external.has(g)) g = g.view(g.shape);
    const prev = grads.get(t);
    if (prev) {
      const sum = addSameShape(prev, g);
      claimed.delete(prev);
      candidates.push(prev, g);
      grads.set(t, sum);
      claimed.add(sum);
    } else {
      grads.set(t, g);
      claimed.add(g);
    }
  };

  const body = (): void => {
    const seedCandidates: Tensor[] = [];
    roots.forEach((r, i) => {
      const seed = seeds?.[i] ?? ones(r.engine, r.shape);
      if (!sameShape(seed.shape, r.shape)) throw new ShapeError('backward', 'seed gradient shape differs from output', [r.shape, seed.shape]);
      if (r.requiresGrad || isTarget(r)) put(r, seed, seedCandidates);
    });
    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k];
      if (!reaches.get(node)) continue;
      const present = node.outputs.some((o) => grads.has(o));
      if (!present) continue;
      const gys = node.outputs.map((o) => {
        const g = grads.get(o);
        if (g && !isTarget(o)) {
          grads.delete(o);
          claimed.delete(g);
        }
        return g ?? zerosLike(o);
      });
      const gxs = node.backward(gys);
      const candidates: Tensor[] = [...gys];
      node.inputs.forEach((t, i) => {
        const g = gxs[i];
        if (!g) return;
        if (!t.requiresGrad || !(isTarget(t) || (t.node !== null && reaches.get(t.node) === true))) {
          candidates.push(g);
          return;
        }
        put(t, g, candidates);
      });
      for (const c of candidates) if (!claimed.has(c) && !external.has(c)) c.dispose();
    }
  };
  if (options.createGraph) enableGrad(body);
  else noGrad(body);

  // What is left: gradients of targets. Give each result its own buffer.
  const out = new Map<Tensor, Tensor>();
  for (const [t, g] of grads) {
    if (!isTarget(t)) {
      g.dispose();
      continue;
    }
    out.set(t, g.sharesStorage || external.has(g) ? copyTensor(g) : g);
  }
  for (const [t, g] of grads) if (out.get(t) !== g && !external.has(g)) g.dispose();
  return out;
}

// ------------------------------------------------- small kernels used here

/*
 * add_same: out[i] = a[i] + b[i], all three contiguous with n elements
 * (width 4: as vec4s, p.n = elements / 4; a residual network's gradient
 * sums are large). 1-D dispatch, possibly folded.
 */
const ADD_SAME = kernelFamily((width: 1 | 4) => {
  const T = width === 4 ? 'vec4<f32>' : 'f32';
  return kernel(
    width === 4 ? 'tape.add_same4' : 'tape.add_same',
    /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<${T}>;
@group(0) @binding(1) var<storage, read> b: array<${T}>;
@group(0) @binding(2) var<storage, read_write> out: array<${T}>;
@group(0) @binding(3) var<uniform> p: P;
${WGSL_MAIN_1D}
  out[i] = a[i] + b[i];
}`,
    ['read', 'read', 'write', 'uniform'],
  );
});

/** a + b for same-shape f32 tensors (no autodiff): gradient accumulation. */
export function addSameShape(a: Tensor, b: Tensor): Tensor {
  const out = empty(a.engine, a.shape);
  const width = a.size % 4 === 0 ? 4 : 1;
  const n = a.size / width;
  if (out.size) a.engine.run(ADD_SAME(width), [a, b, out], new Params().u32(n), Math.ceil(n / 256));
  return out;
}

/** A copy with its own buffer (no autodiff). */
export function copyTensor(t: Tensor): Tensor {
  const out = empty(t.engine, t.shape, t.dtype);
  t.engine.copy(t.buffer, 0, out.buffer, 0, t.byteLength);
  return out;
}

function zerosLike(t: Tensor): Tensor {
  return full(t.engine, t.shape, 0);
}
