/**
 * LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning
 * applied to document recognition"): conv 5×5 ×6 → pool → conv 5×5 ×16 →
 * pool → 120 → 84 → classes.
 *   modern:      ReLU and 2×2 max-pooling (what most courses call LeNet-5 today).
 *   classic1998: tanh and 2×2 average pooling (the paper's subsampling, without
 *                its trainable coefficients, partial C3 connectivity and RBF output).
 * Padding 'auto' pads conv1 so a 28×28 image behaves like the paper's 32×32
 * input: ⌈(32 − H)/2⌉ clamped to [0, 2] → 2 on MNIST, 0 on CIFAR; either way
 * conv2 sees 14×14 and the classifier 16·5·5 = 400 features.
 */
import { z } from 'zod';
import { defineFamily } from '../family.ts';
import { InitSchema } from '../graph.ts';
import { act, avgpool, conv, flatten, linear, maxpool } from './blocks.ts';

export const lenet5Options = z.strictObject({
  variant: z.enum(['modern', 'classic1998']).default('modern'),
  padding: z.union([z.literal('auto'), z.int().min(0).max(4)]).default('auto'),
  init: InitSchema.default('default'),
});

export const lenet5Family = defineFamily({
  name: 'lenet5',
  title: 'LeNet-5',
  description:
    'The 1998 convolutional network for digit recognition: two 5×5 convolution + pooling stages, then three fully connected layers. ' +
    'About 62K parameters.',
  teaches:
    'Convolution and pooling: weight sharing makes it far smaller than an MLP yet more accurate on images. ' +
    'Compare the 1998 variant (tanh, average pooling) with the modern one (ReLU, max pooling).',
  optionsSchema: lenet5Options,
  optionHelp: {
    variant: 'modern (ReLU + max-pool) or classic1998 (tanh + average pool)',
    padding: "conv1 zero padding: 'auto' (2 for 28×28, 0 for 32×32) or a number",
    init: 'weight initialisation: default (PyTorch), he, glorot',
  },
  compile(o, { input, classes }) {
    const pad = o.padding === 'auto' ? Math.min(2, Math.max(0, Math.ceil((32 - Math.min(input[1], input[2])) / 2))) : o.padding;
    const a = act(o.variant === 'modern' ? 'relu' : 'tanh');
    const pool = o.variant === 'modern' ? maxpool(2) : avgpool(2);
    return {
      layers: [conv(6, 5, { padding: pad }), a, pool, conv(16, 5), a, pool, flatten(), linear(120), a, linear(84), a, linear(classes)],
      init: o.init,
    };
  },
});
