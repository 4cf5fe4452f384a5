/**
 * The model zoo: every family by name, and compileModel, which validates a
 * family's options and turns them into a shape-checked ModelGraph.
 */
import { describeGraph } from './describe.ts';
import type { ModelFamily } from './family.ts';
import { alexnetFamily } from './families/alexnet.ts';
import { customFamily } from './families/custom.ts';
import { lenet5Family } from './families/lenet5.ts';
import { mlpFamily } from './families/mlp.ts';
import { gruFamily, lstmFamily, rnnFamily } from './families/recurrent.ts';
import { resnetFamily } from './families/resnet.ts';
import { transformerFamily } from './families/transformer.ts';
import {
  type ImageShape,
  ImageShapeSchema,
  type ModelGraph,
  ModelConfigError,
  parseGraph,
  zodOptionsMessage,
} from './graph.ts';

export const MODEL_FAMILIES: Readonly<Record<string, ModelFamily>> = Object.freeze({
  mlp: mlpFamily,
  lenet5: lenet5Family,
  alexnet: alexnetFamily,
  resnet: resnetFamily,
  rnn: rnnFamily,
  gru: gruFamily,
  lstm: lstmFamily,
  transformer: transformerFamily,
  custom: customFamily,
});

export const FAMILY_NAMES: readonly string[] = Object.keys(MODEL_FAMILIES);

export function getFamily(name: string): ModelFamily {
  const f = Object.hasOwn(MODEL_FAMILIES, name) ? MODEL_FAMILIES[name] : undefined;
  if (!f) throw new ModelConfigError(`Unknown model '${name}'. Available: ${FAMILY_NAMES.join(', ')}.`, 'model');
  return f;
}

/** Dataset normalisation for the graph's first layer, in [0, 1] pixel units. */
export interface NormalizationStats {
  mean?: number[];
  std?: number[];
}

/**
 * Validates `options` for `family` (ModelConfigError naming the option),
 * compiles them for an input [C, H, W] and a class count, and shape-checks
 * the result (ModelConfigError naming the layer). Normalisation defaults to
 * mean 0.5, std 0.5 per channel (pixels to [−1, 1]); pass the dataset's
 * statistics when known.
 */
export function compileModel(family: string, options: unknown, input: readonly number[], classes: number, norm: NormalizationStats = {}): ModelGraph {
  const fam = getFamily(family);
  const shape = ImageShapeSchema.safeParse(input);
  if (!shape.success) throw new ModelConfigError(`input must be [C, H, W] with 1–64 channels, got [${[...input].join(', ')}]`, 'input');
  if (!Number.isInteger(classes) || classes < 2 || classes > 100000) throw new ModelConfigError(`classes must be an integer from 2 to 100000, got ${classes}`, 'classes');
  const parsed = fam.optionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ModelConfigError(zodOptionsMessage(parsed.error, family), first.path.map(String).join('.') || 'options');
  }
  const c = shape.data[0];
  const perChannel = (v: number[] | undefined, fallback: number, what: string): number[] => {
    if (!v) return new Array<number>(c).fill(fallback);
    if (v.length === 1) return new Array<number>(c).fill(v[0]);
    if (v.length !== c) throw new ModelConfigError(`normalisation ${what} needs ${c} values (one per channel), got ${v.length}`, what);
    return v;
  };
  const normalize = { type: 'normalize' as const, mean: perChannel(norm.mean, 0.5, 'mean'), std: perChannel(norm.std, 0.5, 'std') };
  const input3: ImageShape = [shape.data[0], shape.data[1], shape.data[2]];
  const compiled = fam.compile(parsed.data, { input: input3, classes, normalize });
  const layers = compiled.layers[0]?.type === 'normalize' ? compiled.layers : [normalize, ...compiled.layers];
  const graph = parseGraph({ family, options: parsed.data, input: input3, classes, init: compiled.init, layers });
  try {
    describeGraph(graph);
  } catch (e) {
    if (e instanceof ModelConfigError && family !== 'custom') {
      throw new ModelConfigError(
        `${family}: these options do not fit a ${input3[1]}×${input3[2]}×${input3[0]} input: ${e.message}`,
        e.where,
      );
    }
    throw e;
  }
  return graph;
}
