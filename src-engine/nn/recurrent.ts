/**
 * Stacked (optionally bidirectional) RNN / GRU / LSTM over a batch-first
 * sequence, with nn.RNN/GRU/LSTM's parameter names and semantics: layer k+1
 * reads the concatenated [forward, reverse] outputs of layer k, with dropout
 * between layers in training.
 */
import { concat } from '../ops/shape.ts';
import { dropout } from '../ops/dropout.ts';
import { gruSequence, lstmSequence, rnnSequence } from '../ops/recurrent.ts';
import type { Tensor } from '../core/tensor.ts';

export interface StackedRecurrentSpec {
  cell: 'rnn' | 'gru' | 'lstm';
  layers: number;
  bidirectional: boolean;
  nonlinearity: 'tanh' | 'relu';
  dropout: number;
}

export interface StackedRecurrentResult {
  /** [B, T, D·H] outputs of the last layer. */
  output: Tensor;
  /** [B, D·H] final states of the last layer (forward after x[T−1], reverse after x[0]). */
  hN: Tensor;
}

/** x [B, T, F]; `param(suffix)` returns e.g. the tensor of `weight_ih_l0_reverse`. */
export function stackedRecurrent(x: Tensor, spec: StackedRecurrentSpec, param: (suffix: string) => Tensor, training: boolean): StackedRecurrentResult {
  let input = x;
  let output = x;
  let hN = x;
  for (let l = 0; l < spec.layers; l++) {
    if (l > 0 && spec.dropout > 0) input = dropout(input, spec.dropout, { training });
    const outs: Tensor[] = [];
    const finals: Tensor[] = [];
    for (let d = 0; d < (spec.bidirectional ? 2 : 1); d++) {
      const sfx = `l${l}${d === 1 ? '_reverse' : ''}`;
      const args = [param(`weight_ih_${sfx}`), param(`weight_hh_${sfx}`), param(`bias_ih_${sfx}`), param(`bias_hh_${sfx}`)] as const;
      const reverse = d === 1;
      const r =
        spec.cell === 'lstm'
          ? lstmSequence(input, null, null, ...args, { reverse })
          : spec.cell === 'gru'
            ? gruSequence(input, null, ...args, { reverse })
            : rnnSequence(input, null, ...args, { reverse, nonlinearity: spec.nonlinearity });
      outs.push(r.output); // [B, T, H]
      finals.push(r.hN); // [B, H]
    }
    output = outs.length === 1 ? outs[0] : concat(outs, 2); // [B, T, D·H]
    hN = finals.length === 1 ? finals[0] : concat(finals, 1); // [B, D·H]
    input = output;
  }
  return { output, hN };
}
