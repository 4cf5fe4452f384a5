/**
 * A user's own layer stack as JSON (the LayerSpec format of graph.ts, with
 * residual blocks and concatenation). A `normalize` layer is prepended
 * unless the list starts with one, so paths in errors and in the layer
 * table count it as layers.0.
 */
import { z } from 'zod';
import { defineFamily } from '../family.ts';
import { InitSchema, parseLayers } from '../graph.ts';

export const customOptions = z.strictObject({
  /** Empty (the default): softmax regression, [flatten, linear(classes)]. */
  layers: z.array(z.unknown()).max(4096).default([]),
  init: InitSchema.default('default'),
});

export const customFamily = defineFamily({
  name: 'custom',
  title: 'Custom layer stack',
  description:
    'Your own network as a JSON list of layers (conv2d, linear, batchnorm, activation, pools, dropout, residual, concat, ' +
    'recurrent, patchembed, transformerblock, …), shape-checked layer by layer.',
  teaches: 'Architecture design: every layer’s output shape, parameters and FLOPs, and what each change does to training.',
  optionsSchema: customOptions,
  optionHelp: {
    layers: 'JSON array of layers, e.g. [{"type":"flatten"},{"type":"linear","out":10}] (empty: softmax regression)',
    init: 'weight initialisation: default (PyTorch), he, glorot',
  },
  compile(o, { normalize, classes }) {
    const given = o.layers.length ? o.layers : [{ type: 'flatten' }, { type: 'linear', out: classes }];
    const first = given[0] as { type?: unknown } | undefined;
    const list = first?.type === 'normalize' ? given : [normalize, ...given];
    return { layers: parseLayers(list), init: o.init };
  },
});
