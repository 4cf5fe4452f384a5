/**
 * Multi-layer perceptron on the flattened image: the baseline every other
 * model is measured against (Rumelhart, Hinton & Williams 1986).
 */
import { z } from 'zod';
import { defineFamily } from '../family.ts';
import { ActivationKindSchema, InitSchema, type LayerSpecInput } from '../graph.ts';
import { act, dropout, flatten, linear } from './blocks.ts';

export const mlpOptions = z.strictObject({
  hidden: z.array(z.int().min(1).max(16384)).max(16).default([256, 128]),
  activation: ActivationKindSchema.default('relu'),
  dropout: z.number().min(0).max(0.95).default(0),
  init: InitSchema.default('default'),
});

export const mlpFamily = defineFamily({
  name: 'mlp',
  title: 'MLP (fully connected)',
  description:
    'Flattens the image and passes it through fully connected hidden layers with a nonlinearity, then a linear classifier. ' +
    'No notion of space: every pixel is an independent input.',
  teaches:
    'The baseline: how far plain fully connected layers get, how depth and width trade off, and — with sigmoid or tanh — ' +
    'why gradients vanish in the first layers (compare the per-layer gradient norms with ReLU). hidden: [] is logistic regression.',
  optionsSchema: mlpOptions,
  optionHelp: {
    hidden: 'widths of the hidden layers, e.g. [256, 128] ([] = softmax regression)',
    activation: 'nonlinearity after each hidden layer: relu, leakyRelu, elu, gelu, sigmoid, tanh, softplus',
    dropout: 'dropout probability after each hidden activation (0 = none)',
    init: 'weight initialisation: default (PyTorch), he, glorot',
  },
  compile(o, { classes }) {
    const layers: LayerSpecInput[] = [flatten()];
    for (const h of o.hidden) layers.push(linear(h), act(o.activation), ...dropout(o.dropout));
    layers.push(linear(classes));
    return { layers, init: o.init };
  },
});
