/**
 * ResNets (He, Zhang, Ren & Sun 2016, "Deep residual learning for image
 * recognition").
 *   cifar:    the paper's CIFAR-10 ResNet-(6n+2) (section 4.2): conv 3×3 ×16,
 *             three stages of n basic blocks at 16, 32, 64 channels (stride 2
 *             at the start of stages 2 and 3), global average pool, linear.
 *             n = 3 → ResNet-20 (0.27M parameters), n = 9 → ResNet-56 (0.85M).
 *   resnet18: the ImageNet ResNet-18 layout adapted to 32 px (as in the common
 *             CIFAR ports): conv 3×3 ×64 stride 1, no max-pool, stages of 2 basic
 *             blocks at 64, 128, 256, 512 channels.
 * Basic block: conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU.
 * Shortcuts where the shape changes: option A (parameter-free: subsample and
 * zero-pad channels, the paper's CIFAR choice) or B (1×1 conv + BN
 * projection). plain: true drops every shortcut (the paper's "plain" nets that
 * show the degradation problem: plain-56 trains worse than plain-20).
 */
import { z } from 'zod';
import { defineFamily } from '../family.ts';
import { InitSchema, type LayerSpecInput, type ShortcutInput } from '../graph.ts';
import { act, bn, conv, flatten, linear } from './blocks.ts';

export const resnetOptions = z.strictObject({
  variant: z.enum(['cifar', 'resnet18']).default('cifar'),
  n: z.int().min(1).max(50).default(3),
  shortcut: z.enum(['A', 'B']).optional(),
  plain: z.boolean().default(false),
  init: InitSchema.default('he'),
});

function basicBlock(inC: number, out: number, stride: number, shortcut: 'A' | 'B', plain: boolean): LayerSpecInput {
  const body = [conv(out, 3, { stride, padding: 1, bias: false }), bn(), act('relu'), conv(out, 3, { padding: 1, bias: false }), bn()];
  let sc: ShortcutInput = 'identity';
  if (plain) sc = 'none';
  else if (stride !== 1 || inC !== out) sc = shortcut === 'A' ? { kind: 'A' } : [conv(out, 1, { stride, bias: false }), bn()];
  return { type: 'residual', body, shortcut: sc, activation: 'relu' };
}

export const resnetFamily = defineFamily({
  name: 'resnet',
  title: 'ResNet',
  description:
    'Residual networks: stacks of two-convolution basic blocks whose input is added back to their output. ' +
    'CIFAR ResNet-(6n+2) (n = 3: ResNet-20, 0.27M parameters; n = 9: ResNet-56) or a 32-px ResNet-18 (11M).',
  teaches:
    'Why shortcuts let very deep networks train: with plain: true the same network without shortcuts gets worse as it gets deeper ' +
    '(plain-56 vs plain-20), and its layer-wise gradient norms drift with depth (with BatchNorm they grow towards the input), ' +
    'while a ResNet keeps them level: compare the gradient-norm chart of both.',
  optionsSchema: resnetOptions,
  optionHelp: {
    variant: 'cifar (ResNet-(6n+2), 16-32-64 channels) or resnet18 (64-128-256-512, 2 blocks per stage)',
    n: 'cifar variant: blocks per stage; depth = 6n + 2 (3 → ResNet-20, 9 → ResNet-56)',
    shortcut: 'where shapes change: A (subsample + zero-pad, no parameters) or B (1×1 conv + BN); default A for cifar, B for resnet18',
    plain: 'remove all shortcuts (a plain network of the same depth)',
    init: 'weight initialisation: he (the paper), default (PyTorch), glorot',
  },
  compile(o, { classes }) {
    const cifar = o.variant === 'cifar';
    const shortcut = o.shortcut ?? (cifar ? 'A' : 'B');
    const widths = cifar ? [16, 32, 64] : [64, 128, 256, 512];
    const blocks = cifar ? o.n : 2;
    const layers: LayerSpecInput[] = [conv(widths[0], 3, { padding: 1, bias: false }), bn(), act('relu')];
    let c = widths[0];
    widths.forEach((w, s) => {
      for (let b = 0; b < blocks; b++) {
        layers.push(basicBlock(c, w, s > 0 && b === 0 ? 2 : 1, shortcut, o.plain));
        c = w;
      }
    });
    layers.push({ type: 'globalavgpool' }, flatten(), linear(classes));
    return { layers, init: o.init };
  },
});
