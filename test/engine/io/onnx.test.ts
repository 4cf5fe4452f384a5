/**
 * ONNX export parity: every model family (plus custom stacks covering the
 * remaining layer options) is built on the engine, exported, run in
 * onnxruntime-web's wasm backend in Node, and its logits compared with the
 * engine's on the same raw pixels (max abs difference ≤ 1e-4). The exported
 * file also passes onnx.checker.check_model(full_check=True) where a Python
 * with the onnx package exists (Debian's python3-onnx).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../src-engine/core/engine.ts';
import { buildOnnxModel, exportOnnx, ONNX_OPSET, onnxModelType } from '../../../src-engine/io/onnx/export.ts';
import { ONNX_PROTO } from '../../../src-engine/io/onnx/onnx-proto.ts';
import { getEngine } from '../helpers.ts';
import { buildCase, engineLogits, FAMILY_CASES, findPython, maxAbsDiff, randomPixels } from './export-fixtures.ts';

const onnxPython = findPython('onnx');
const TOL = 1e-4;

let engine: Engine;
let dir: string;
const parity: Array<{ name: string; maxAbs: number }> = [];
/** Every family's ONNX file, for the checker test. */
const exported = new Map<string, Uint8Array>();

beforeAll(async () => {
  engine = await getEngine();
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + '/';
  dir = mkdtempSync(join(tmpdir(), 'layerlab-onnx-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  // The figures the report quotes: worst |engine − onnxruntime| per family.
  for (const p of parity) process.stdout.write(`[onnx parity] ${p.name}: max |Δ| = ${p.maxAbs.toExponential(2)}\n`);
});

async function runOrt(bytes: Uint8Array, pixels: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  try {
    expect(session.inputNames).toEqual(['pixels']);
    expect(session.outputNames).toEqual(['logits']);
    const out = await session.run({ pixels: new ort.Tensor('float32', pixels, shape) });
    return { data: out.logits.data as Float32Array, dims: out.logits.dims };
  } finally {
    await session.release();
  }
}

describe('the vendored onnx.proto', () => {
  it('is the official schema, byte for byte the .proto file beside it, with its licence line', () => {
    const file = readFileSync(new URL('../../../src-engine/io/onnx/onnx.proto', import.meta.url), 'utf8');
    expect(ONNX_PROTO).toBe(file);
    expect(ONNX_PROTO).toContain('SPDX-License-Identifier: Apache-2.0');
    expect(ONNX_PROTO).toContain('IR_VERSION = 0x0000000000000008;');
  });
});

describe('ONNX export: logits equal the engine’s in onnxruntime', () => {
  for (const c of FAMILY_CASES) {
    it(c.name, async () => {
      const { graph, model, weights } = await buildCase(engine, c);
      try {
        const bytes = exportOnnx(graph, weights, { producerVersion: '0.0.0-test', metadata: { family: graph.family } });
        exported.set(c.name, bytes);
        // Two batch sizes through the same file: the batch dimension is symbolic.
        for (const n of [3, 1]) {
          const pixels = randomPixels(c.input, n, 11 + n);
          const expected = await engineLogits(engine, model, pixels, n);
          const got = await runOrt(bytes, pixels, [n, ...c.input]);
          expect(got.dims).toEqual([n, c.classes]);
          const diff = maxAbsDiff(got.data, expected);
          expect(diff, `${c.name}, N=${n}: max |onnx − engine|`).toBeLessThanOrEqual(TOL);
          if (n === 3) parity.push({ name: c.name, maxAbs: diff });
        }
      } finally {
        model.dispose();
      }
    });
  }
});

describe('ONNX model structure', () => {
  it('names the input pixels [N, C, H, W] and the output logits [N, classes], opset 17, normalisation first', async () => {
    const { graph, model, weights } = await buildCase(engine, FAMILY_CASES[3]);
    model.dispose();
    const decoded = onnxModelType().toObject(onnxModelType().decode(exportOnnx(graph, weights, { metadata: { classes: '["a"]' } })), {
      longs: Number,
    }) as {
      ir_version: number;
      opset_import: Array<{ version: number }>;
      metadata_props: Array<{ key: string; value: string }>;
      graph: {
        node: Array<{ op_type: string; input: string[] }>;
        initializer: Array<{ name: string; dims: number[] }>;
        input: Array<{ name: string; type: { tensor_type: { shape: { dim: Array<{ dim_param?: string; dim_value?: number }> } } } }>;
        output: Array<{ name: string; type: { tensor_type: { shape: { dim: Array<{ dim_param?: string; dim_value?: number }> } } } }>;
      };
    };
    expect(decoded.ir_version).toBe(8);
    expect(decoded.opset_import[0].version).toBe(17);
    expect(decoded.metadata_props).toEqual([{ key: 'classes', value: '["a"]' }]);
    expect(decoded.graph.input.map((i) => i.name)).toEqual(['pixels']);
    expect(decoded.graph.input[0].type.tensor_type.shape.dim).toEqual([{ dim_param: 'N' }, { dim_value: 3 }, { dim_value: 32 }, { dim_value: 32 }]);
    expect(decoded.graph.output[0].name).toBe('logits');
    expect(decoded.graph.output[0].type.tensor_type.shape.dim).toEqual([{ dim_param: 'N' }, { dim_value: 10 }]);
    expect(decoded.graph.node.slice(0, 3).map((n) => n.op_type)).toEqual(['Div', 'Sub', 'Div']);
    expect(decoded.graph.node[0].input[0]).toBe('pixels');
    // Dropout is gone at inference; BN and conv weights keep their state_dict names.
    expect(decoded.graph.node.some((n) => n.op_type === 'Dropout')).toBe(false);
    const inits = new Map(decoded.graph.initializer.map((t) => [t.name, t.dims]));
    expect(inits.get('layers.1.weight')).toEqual([8, 3, 5, 5]);
    expect(inits.get('layers.2.running_var')).toEqual([8]);
  });

  it('exports GRU and LSTM with ONNX gate order and linear_before_reset', async () => {
    const { graph, model, weights } = await buildCase(engine, FAMILY_CASES[8]);
    model.dispose();
    const obj = buildOnnxModel(graph, weights) as { graph: { node: Array<{ op_type: string; attribute: Array<{ name: string; i?: number }> }> } };
    const grus = obj.graph.node.filter((n) => n.op_type === 'GRU');
    expect(grus).toHaveLength(2);
    for (const g of grus) expect(g.attribute.find((a) => a.name === 'linear_before_reset')?.i).toBe(1);
    // Gate block z of ONNX's W = PyTorch's second block (r, z, n).
    const init = (obj.graph as unknown as { initializer: Array<{ name: string; raw_data: Uint8Array }> }).initializer.find((t) => t.name === 'layers.1.W_l0')!;
    const onnxW = new Float32Array(init.raw_data.slice().buffer);
    const torchW = weights.get('layers.1.weight_ih_l0')!.data; // [3·8, 15]
    const block = 8 * 15;
    expect(Array.from(onnxW.subarray(0, block))).toEqual(Array.from(torchW.subarray(block, 2 * block)));
    expect(Array.from(onnxW.subarray(block, 2 * block))).toEqual(Array.from(torchW.subarray(0, block)));
  });

  it.skipIf(!onnxPython.python)(
    `every family's file passes onnx.checker.check_model(full_check=True)${onnxPython.python ? '' : ` — skipped: ${onnxPython.reason}`}`,
    () => {
      const files = FAMILY_CASES.map((c, i) => {
        const bytes = exported.get(c.name);
        if (!bytes) throw new Error(`${c.name} was not exported (see its parity test)`);
        const file = join(dir, `family-${i}.onnx`);
        writeFileSync(file, bytes);
        return file;
      });
      const script =
        'import onnx, sys\n' +
        'for f in sys.argv[1:]:\n' +
        '    m = onnx.load(f)\n' +
        '    onnx.checker.check_model(m, full_check=True)\n' +
        '    print(m.ir_version, m.opset_import[0].version)\n';
      const r = spawnSync(onnxPython.python!, ['-c', script, ...files], { encoding: 'utf8', timeout: 300_000 });
      expect(r.stderr, 'onnx.checker').toBe('');
      expect(r.stdout.trim().split('\n')).toEqual(files.map(() => `8 ${ONNX_OPSET}`));
    },
  );
});
