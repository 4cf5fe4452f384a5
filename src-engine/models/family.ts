/**
 * What a model family is: a name, texts for the model picker (what it is and
 * what it teaches), a zod schema for its options (every option validated,
 * absurd values rejected, defaults filled) and a compiler from options to a
 * layer list. `defineFamily` erases the option type so the registry can hold
 * families with different options.
 */
import type { z } from 'zod';
import { type ImageShape, type InitScheme, type LayerSpecInput, type NormalizeLayer } from './graph.ts';

export interface CompileContext {
  /** Per-sample input [C, H, W]. */
  input: ImageShape;
  classes: number;
  /** The graph's first layer (dataset normalisation). */
  normalize: NormalizeLayer;
}

export interface CompiledLayers {
  /** The layers after `normalize` (or including it, for custom stacks that bring their own). */
  layers: LayerSpecInput[];
  init: InitScheme;
}

export interface ModelFamily {
  name: string;
  title: string;
  /** One paragraph: what the model is. */
  description: string;
  /** What training it (and varying its options) teaches. */
  teaches: string;
  /** Validates options (unknown keys rejected) and fills defaults. */
  optionsSchema: z.ZodType<Record<string, unknown>>;
  /** The options used when none are given (the schema's output for {}). */
  defaults: Record<string, unknown>;
  /** Option names → one-line help, for `layerlab models show` and the UI. */
  optionHelp: Record<string, string>;
  /** Compiles already-validated options. */
  compile(options: Record<string, unknown>, ctx: CompileContext): CompiledLayers;
}

export interface FamilyDefinition<S extends z.ZodType<Record<string, unknown>>> {
  name: string;
  title: string;
  description: string;
  teaches: string;
  optionsSchema: S;
  optionHelp: { [K in keyof z.output<S>]-?: string };
  compile(options: z.output<S>, ctx: CompileContext): CompiledLayers;
}

export function defineFamily<S extends z.ZodType<Record<string, unknown>>>(def: FamilyDefinition<S>): ModelFamily {
  return {
    name: def.name,
    title: def.title,
    description: def.description,
    teaches: def.teaches,
    optionsSchema: def.optionsSchema,
    defaults: def.optionsSchema.parse({}),
    optionHelp: def.optionHelp as Record<string, string>,
    compile: (options, ctx) => def.compile(options as z.output<S>, ctx),
  };
}
