/**
 * Recurrent classifiers that read the image row by row (the "sequential
 * MNIST" row variant: T = H steps of C·W features): Elman RNN (1990), GRU
 * (Cho et al. 2014), LSTM (Hochreiter & Schmidhuber 1997), one family each,
 * sharing this file. The last layer's final state (or its max over time)
 * feeds a linear classifier.
 */
import { z } from 'zod';
import { defineFamily, type ModelFamily } from '../family.ts';
import { InitSchema } from '../graph.ts';
import { linear } from './blocks.ts';

const common = {
  hidden: z.int().min(1).max(4096).default(128),
  layers: z.int().min(1).max(8).default(1),
  bidirectional: z.boolean().default(false),
  readout: z.enum(['last', 'max']).default('last'),
  dropout: z.number().min(0).max(0.95).default(0),
  init: InitSchema.default('default'),
};
const dropoutNeedsLayers = (o: { layers: number; dropout: number }): boolean => o.dropout === 0 || o.layers > 1;
const dropoutMessage = { message: 'dropout acts between stacked layers: set layers ≥ 2 or dropout 0', path: ['dropout'] };

export const rnnOptions = z
  .strictObject({ ...common, nonlinearity: z.enum(['tanh', 'relu']).default('tanh') })
  .refine(dropoutNeedsLayers, dropoutMessage);
export const gruOptions = z.strictObject(common).refine(dropoutNeedsLayers, dropoutMessage);
export const lstmOptions = gruOptions;

const help = {
  hidden: 'hidden state size',
  layers: 'stacked recurrent layers',
  bidirectional: 'also read the rows bottom to top (doubles the state)',
  readout: 'last: final hidden state; max: max over time of the hidden states',
  dropout: 'dropout between stacked layers (needs layers ≥ 2)',
  init: 'weight initialisation: default (PyTorch U(±1/√hidden)), he, glorot',
};

const texts = {
  rnn: {
    title: 'RNN (Elman)',
    description: 'A simple recurrent network h_t = tanh(W_ih x_t + W_hh h_{t−1} + b) reading the image one row per step.',
    teaches: 'Sequence models on images, and the vanishing gradient through time that LSTM and GRU were designed to fix.',
  },
  gru: {
    title: 'GRU',
    description: 'A gated recurrent unit (reset and update gates) reading the image one row per step.',
    teaches: 'Gating: how an update gate keeps information over many steps with fewer parameters than an LSTM.',
  },
  lstm: {
    title: 'LSTM',
    description: 'A long short-term memory network (input, forget, output gates and a cell state) reading the image one row per step.',
    teaches: 'The cell state as a gradient highway through time; compare with the plain RNN on the same rows.',
  },
};

function recurrentFamily(cell: 'rnn' | 'gru' | 'lstm'): ModelFamily {
  const compile = (o: z.output<typeof gruOptions> & { nonlinearity?: 'tanh' | 'relu' }, classes: number) => ({
    layers: [
      {
        type: 'recurrent' as const,
        cell,
        hidden: o.hidden,
        layers: o.layers,
        bidirectional: o.bidirectional,
        readout: o.readout,
        dropout: o.dropout,
        nonlinearity: o.nonlinearity ?? 'tanh',
      },
      linear(classes),
    ],
    init: o.init,
  });
  return cell === 'rnn'
    ? defineFamily({ name: cell, ...texts[cell], optionsSchema: rnnOptions, optionHelp: { ...help, nonlinearity: 'tanh or relu' }, compile: (o, c) => compile(o, c.classes) })
    : defineFamily({ name: cell, ...texts[cell], optionsSchema: gruOptions, optionHelp: help, compile: (o, c) => compile(o, c.classes) });
}

export const rnnFamily = recurrentFamily('rnn');
export const gruFamily = recurrentFamily('gru');
export const lstmFamily = recurrentFamily('lstm');
