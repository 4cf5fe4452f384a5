/**
 * One pre-LN Transformer encoder block (as in ViT; Xiong et al. 2020 on
 * pre-LN): x = x + drop(MHA(LN1(x))); x = x + drop(MLP(LN2(x))), MLP =
 * Linear → GELU → Linear. Parameter names follow graph.ts (ln1, attn.*, ln2, mlp.0, mlp.2).
 */
import type { Tensor } from '../core/tensor.ts';
import { multiHeadAttention } from '../ops/attention.ts';
import { dropout } from '../ops/dropout.ts';
import { add } from '../ops/elementwise.ts';
import { linear } from '../ops/matmul.ts';
import { layerNorm } from '../ops/norm.ts';

export interface TransformerBlockOptions {
  heads: number;
  dropout: number;
  training: boolean;
  /** Receives the attention weights [B, heads, T, T] when given. */
  captureAttention?: (weights: Tensor) => void;
}

/** x [B, T, D] → [B, T, D]; `param('ln1.weight')` etc. return the block's tensors. */
export function transformerBlock(x: Tensor, param: (suffix: string) => Tensor, opt: TransformerBlockOptions): Tensor {
  const h1 = layerNorm(x, param('ln1.weight'), param('ln1.bias')); // [B, T, D]
  const att = multiHeadAttention(h1, param('attn.in_proj_weight'), param('attn.in_proj_bias'), param('attn.out_proj.weight'), param('attn.out_proj.bias'), {
    heads: opt.heads,
    returnWeights: !!opt.captureAttention,
  });
  if (att.weights && opt.captureAttention) opt.captureAttention(att.weights);
  const x1 = add(x, dropout(att.out, opt.dropout, { training: opt.training })); // [B, T, D]
  const h2 = layerNorm(x1, param('ln2.weight'), param('ln2.bias')); // [B, T, D]
  const m = linear(linear(h2, param('mlp.0.weight'), param('mlp.0.bias'), 'gelu'), param('mlp.2.weight'), param('mlp.2.bias')); // [B, T, D]
  return add(x1, dropout(m, opt.dropout, { training: opt.training })); // [B, T, D]
}
