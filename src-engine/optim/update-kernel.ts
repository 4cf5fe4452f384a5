/**
 * The optimizers' update kernel, generated from a family's per-element rule
 * for a group of up to `slots` parameters at once: one dispatch updates every
 * parameter of the group (a LeNet-5 step had ten tiny dispatches, one per
 * weight and bias, each costing lavapipe ~0.07 ms of fixed work whatever
 * its size).
 *
 * Layout: parameter k of the group owns workgroups [wg0_k, wg0_k + ⌈n_k/1024⌉);
 * each invocation updates elements base + j·256, j < 4 (four per invocation:
 * on lavapipe a 256-element workgroup costs about as much as a 1024-element
 * one; 48,000 SGD elements took 0.74 ms one per invocation). Which parameter
 * a workgroup serves is workgroup-uniform, so the `switch` does not diverge.
 *
 * A rule's body is WGSL over `i`, `param[i]`, `grad[i]`, its state arrays by
 * their checkpoint names (`exp_avg[i]`, …) and its uniforms `p.<field>`; the
 * generator renames the arrays per slot (`param_3[i]`). State a configuration
 * does not use gets no binding (a group would bind one dummy several times as
 * writable, which WebGPU forbids): its name is declared as a one-element
 * private array instead, which the rule only touches behind its own
 * uniform flag (momentum ≠ 0, amsgrad, centered).
 */
import { kernel, kernelFamily, WGSL_WG_LINEAR, type BindingKind, type Kernel } from '../core/kernel.ts';

/** A family's per-element update (see the file comment for what `body` may use). */
export interface UpdateRule {
  /** Kernel name stem: 'optim.sgd'. */
  name: string;
  /** WGSL struct members after `n` and `wg0`: 'lr: f32, momentum: f32'. */
  fields: string;
  /** State array names in binding order (the StateSlot keys). */
  states: readonly string[];
  body: string;
}

/** Elements per invocation and per workgroup. */
export const UPDATE_PER_INVOCATION = 4;
export const UPDATE_PER_WORKGROUP = 256 * UPDATE_PER_INVOCATION;

/** Words of one slot's uniform struct (n, wg0, the fields, padded to 16 bytes). */
export function slotWords(rule: UpdateRule): number {
  return Math.ceil((2 + fieldCount(rule)) / 4) * 4;
}

/** Members in the rule's `fields`. */
const fieldCount = (rule: UpdateRule): number => rule.fields.split(',').filter((f) => f.trim() !== '').length;

/** Bindings per parameter: param, grad and the used states. */
export const bindingsPerParam = (used: readonly boolean[]): number => 2 + used.filter(Boolean).length;

const families = new Map<UpdateRule, (spec: string) => Kernel>();

/** The kernel updating `count` parameters with the states marked in `used` bound. */
export function updateKernel(rule: UpdateRule, count: number, used: readonly boolean[]): Kernel {
  let family = families.get(rule);
  if (!family) {
    family = kernelFamily((spec: string) => {
      const [c, mask] = spec.split('/');
      return build(rule, Number(c), [...mask].map((m) => m === '1'));
    });
    families.set(rule, family);
  }
  return family(`${count}/${used.map((u) => (u ? '1' : '0')).join('')}`);
}

function build(rule: UpdateRule, count: number, used: readonly boolean[]): Kernel {
  const words = slotWords(rule);
  const pads = Array.from({ length: words - 2 - fieldCount(rule) }, (_, k) => `, _pad${k}: u32`).join('');
  const decls: string[] = [];
  const bindings: BindingKind[] = [];
  const cases: string[] = [];
  const arrays = ['param', 'grad', ...rule.states];
  for (let k = 0; k < count; k++) {
    arrays.forEach((name, a) => {
      const bound = a < 2 || used[a - 2];
      if (bound) {
        const kind: BindingKind = name === 'grad' ? 'read' : 'write';
        decls.push(`@group(0) @binding(${bindings.length}) var<storage, ${kind === 'read' ? 'read' : 'read_write'}> ${name}_${k}: array<f32>;`);
        bindings.push(kind);
      } else {
        decls.push(`var<private> ${name}_${k}: array<f32, 1>; // unused state: no binding`);
      }
    });
    const body = rule.body.replace(new RegExp(`\\b(${arrays.join('|')})\\[`, 'g'), `$1_${k}[`);
    cases.push(`    case ${k}u: {
      let p = u[${k}];
      for (var j = 0u; j < ${UPDATE_PER_INVOCATION}u; j++) {
        let i = (w - p.wg0) * ${UPDATE_PER_WORKGROUP}u + j * 256u + lid;
        if (i >= p.n) { break; }
        ${body.trim().replace(/\n/g, '\n      ')}
      }
    }`);
  }
  bindings.push('uniform');
  const pick = Array.from({ length: count - 1 }, (_, k) => `  if (w >= u[${k + 1}].wg0) { s = ${k + 1}u; }`).join('\n');
  const code = /* wgsl */ `
struct P { n: u32, wg0: u32, ${rule.fields}${pads} }
${decls.join('\n')}
@group(0) @binding(${bindings.length - 1}) var<uniform> u: array<P, ${count}>;
${WGSL_WG_LINEAR}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = wg_linear(wid, nwg);
  var s = 0u;
${pick}
  switch s {
${cases.join('\n')}
    default: {}
  }
}`;
  return kernel(`${rule.name}×${count}`, code, bindings);
}
