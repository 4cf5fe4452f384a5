/**
 * Vision Transformer (Dosovitskiy et al. 2021, "An image is worth 16×16
 * words"), small enough for 28/32 px: non-overlapping patches embedded
 * linearly, a CLS token (or mean pooling), sinusoidal (Vaswani et al. 2017)
 * or learned positions, `depth` pre-LN encoder blocks (multi-head
 * self-attention + GELU MLP), a final LayerNorm and a linear head.
 */
import { z } from 'zod';
import { defineFamily } from '../family.ts';
import { InitSchema, type LayerSpecInput } from '../graph.ts';
import { linear } from './blocks.ts';

export const transformerOptions = z
  .strictObject({
    patch: z.int().min(1).max(64).default(4),
    width: z.int().min(4).max(2048).default(64),
    depth: z.int().min(1).max(48).default(4),
    heads: z.int().min(1).max(64).default(4),
    mlpRatio: z.number().min(0.25).max(8).default(2),
    positions: z.enum(['sinusoidal', 'learned']).default('learned'),
    pooling: z.enum(['cls', 'mean']).default('cls'),
    dropout: z.number().min(0).max(0.95).default(0),
    init: InitSchema.default('default'),
  })
  .refine((o) => o.width % o.heads === 0, { message: 'must divide width', path: ['heads'] })
  .refine((o) => o.positions !== 'sinusoidal' || o.width % 2 === 0, { message: 'sinusoidal positions need an even width', path: ['width'] });

export const transformerFamily = defineFamily({
  name: 'transformer',
  title: 'Vision Transformer (ViT)',
  description:
    'Cuts the image into patches, embeds each as a token, adds position information and runs pre-LN Transformer encoder blocks ' +
    '(multi-head self-attention and a GELU MLP); classifies from a CLS token or the mean token.',
  teaches:
    'Attention instead of convolution: no built-in locality, so it needs more data or augmentation; ' +
    'compare patch sizes, depth, learned vs sinusoidal positions, CLS vs mean pooling, and inspect the attention maps.',
  optionsSchema: transformerOptions,
  optionHelp: {
    patch: 'patch side in pixels (must divide the image size; 4 → 49 tokens at 28 px, 64 at 32 px)',
    width: 'token width (embedding dimension)',
    depth: 'number of encoder blocks',
    heads: 'attention heads per block (must divide width)',
    mlpRatio: 'MLP hidden width / token width',
    positions: 'learned or sinusoidal position embeddings',
    pooling: 'cls (a learned class token) or mean (average of the tokens)',
    dropout: 'dropout on the attention and MLP outputs',
    init: 'weight initialisation: default (PyTorch), he, glorot',
  },
  compile(o, { classes }) {
    const layers: LayerSpecInput[] = [{ type: 'patchembed', patch: o.patch, dim: o.width }];
    if (o.pooling === 'cls') layers.push({ type: 'clstoken' });
    layers.push({ type: 'positions', kind: o.positions });
    for (let i = 0; i < o.depth; i++) layers.push({ type: 'transformerblock', heads: o.heads, mlpRatio: o.mlpRatio, dropout: o.dropout });
    layers.push({ type: 'layernorm' }, { type: 'tokenpool', kind: o.pooling }, linear(classes));
    return { layers, init: o.init };
  },
});
