/** Model zoo handlers: families with JSON-Schema options, and layer tables (pure, no GPU). */
import { z } from 'zod';
import { modelCalls, type ModelFamilyInfo } from '../calls/models.ts';
// The pure half of the zoo (no GPU): registry, graph and its description.
import { MODEL_FAMILIES, compileModel } from '../../../src-engine/models/registry.ts';
import { describeGraph } from '../../../src-engine/models/describe.ts';
import { ModelConfigError } from '../../../src-engine/models/graph.ts';
import type { HandlersFor } from './types.ts';

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  try {
    // 'input': what a form may send (defaults optional), not what parsing returns.
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Computed once: the zoo does not change while the lab runs. */
let familyInfo: ModelFamilyInfo[] | null = null;

export function modelHandlers(): HandlersFor<typeof modelCalls> {
  return {
    'models.list': () =>
      (familyInfo ??= Object.values(MODEL_FAMILIES).map((f) => ({
        name: f.name,
        title: f.title,
        description: f.description,
        teaches: f.teaches,
        defaults: f.defaults,
        optionsSchema: { ...jsonSchemaOf(f.optionsSchema), optionHelp: f.optionHelp },
      }))),
    'models.describe': ({ family, options, input, classes }) => {
      try {
        const graph = compileModel(family, options, input, classes);
        const d = describeGraph(graph);
        return {
          ok: true as const,
          rows: d.rows.map((r) => ({ name: r.name, type: r.type, outputShape: r.outputShape, params: r.params, flops: r.flops, depth: r.depth, detail: r.detail })),
          totalParams: d.totalParams,
          totalFlops: d.totalFlops,
          graph: graph as unknown as Record<string, unknown>,
        };
      } catch (e) {
        if (!(e instanceof ModelConfigError)) throw e;
        const isLayer = /^layers(\.|$)/.test(e.where);
        return { ok: false as const, error: e.message, layer: isLayer ? e.where : undefined, option: isLayer ? undefined : e.where || undefined };
      }
    },
  };
}
