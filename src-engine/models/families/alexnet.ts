/**
 * AlexNet-style network for small (28/32 px) images, after Krizhevsky,
 * Sutskever & Hinton 2012: five convolutions and three fully connected
 * layers, ReLU, overlapping 3×3 stride-2 max-pooling after conv1, conv2 and
 * conv5, dropout before fc6 and fc7. Scaled to small inputs as in the
 * usual CIFAR ports: conv1/conv2 5×5 stride 1 (the paper: 11×11 stride 4),
 * conv3–5 3×3, channel widths of torchvision's AlexNet (64, 192, 384, 256,
 * 256) and 1024-wide fc6/fc7 (the paper: 4096), all times `width`.
 * Local response normalisation is left out (BatchNorm is the option).
 * 32×32: 32 → 15 → 7 → 3 (256·3·3 = 2304 features); 28×28: 28 → 13 → 6 → 2.
 *
 * Ablations from the paper's section 4.1 ("depth matters"): removeConv34
 * drops conv3 and conv4 (conv5 then reads conv2's output), removeFc67 drops
 * fc6 and fc7 (the classifier reads the pooled features directly).
 */
import { z } from 'zod';
import { defineFamily } from '../family.ts';
import { InitSchema, type LayerSpecInput } from '../graph.ts';
import { act, bn, conv, dropout, flatten, linear, maxpool } from './blocks.ts';

export const alexnetOptions = z.strictObject({
  width: z.number().min(0.0625).max(4).default(1),
  fcWidth: z.int().min(16).max(8192).default(1024),
  batchnorm: z.boolean().default(false),
  dropout: z.number().min(0).max(0.95).default(0.5),
  removeConv34: z.boolean().default(false),
  removeFc67: z.boolean().default(false),
  init: InitSchema.default('default'),
});

const BASE = [64, 192, 384, 256, 256];

export const alexnetFamily = defineFamily({
  name: 'alexnet',
  title: 'AlexNet-style',
  description:
    'Five convolutions (5×5, 5×5, 3×3, 3×3, 3×3) with ReLU and overlapping 3×3/2 max-pooling, then three fully connected layers ' +
    'with dropout, sized for 28–32 px images. About 6M parameters at width 1.',
  teaches:
    'The 2012 recipe — ReLU, overlapping pooling, dropout, (here optionally) BatchNorm — and the ablations that showed depth matters: ' +
    'remove conv3–4 or fc6–7 and compare.',
  optionsSchema: alexnetOptions,
  optionHelp: {
    width: 'multiplier on every layer width (1 = 64-192-384-256-256 channels)',
    fcWidth: 'width of fc6 and fc7 before the multiplier (1024; the paper used 4096)',
    batchnorm: 'BatchNorm after every convolution (before the ReLU; conv biases dropped)',
    dropout: 'dropout probability before fc6 and fc7',
    removeConv34: 'ablation: remove conv3 and conv4',
    removeFc67: 'ablation: remove fc6 and fc7',
    init: 'weight initialisation: default (PyTorch), he, glorot',
  },
  compile(o, { classes }) {
    const ch = BASE.map((c) => Math.max(1, Math.round(c * o.width)));
    const fc = Math.max(1, Math.round(o.fcWidth * o.width));
    const block = (out: number, k: number): LayerSpecInput[] => [
      conv(out, k, { padding: (k - 1) / 2, bias: !o.batchnorm }),
      ...(o.batchnorm ? [bn()] : []),
      act('relu'),
    ];
    const layers: LayerSpecInput[] = [
      ...block(ch[0], 5), maxpool(3, 2),
      ...block(ch[1], 5), maxpool(3, 2),
      ...(o.removeConv34 ? [] : [...block(ch[2], 3), ...block(ch[3], 3)]),
      ...block(ch[4], 3), maxpool(3, 2),
      flatten(),
    ];
    if (!o.removeFc67) layers.push(...dropout(o.dropout), linear(fc), act('relu'), ...dropout(o.dropout), linear(fc), act('relu'));
    layers.push(linear(classes));
    return { layers, init: o.init };
  },
});
