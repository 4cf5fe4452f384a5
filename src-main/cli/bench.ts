/**
 * `layerlab bench <suite…>` (`npm run bench -- <suite>`): benchmarks, one JSON
 * object per line: {"name", "unit", "ours", "reference", "ratio"}. Timing
 * lives here, never in pass/fail tests. The suites live in bench/ (source
 * checkouts only) and in the services they measure.
 */
import type { Command } from './index.ts';
import { parse, UsageError } from './args.ts';

interface Suite {
  summary: string;
  run(opts: { iters?: number }): Promise<object[]>;
}

export const SUITES: Record<string, Suite> = {
  engine: {
    summary: 'matmul GFLOP/s, conv and GRU training-step ms, ours vs TensorFlow.js WebGPU on the same adapter',
    run: async (o) => {
      const lines: object[] = await (await import('../../bench/engine.ts')).runEngineBench({ iters: o.iters, log: (l) => console.error(l) });
      // The GRU line: a training step (forward + backward) of one GRU layer, ms, vs the same in TF.js.
      const r = await (await import('../../bench/recurrent.ts')).runRecurrentBench({ iters: o.iters, log: (l) => console.error(l) });
      const ref = 'msPerStep' in r.reference ? r.reference.msPerStep : null;
      lines.push({
        name: `gru_train_step_b${r.config.B}_t${r.config.T}_h${r.config.H}`,
        unit: 'ms',
        ours: r.ours.msPerStep,
        reference: ref,
        ratio: r.ratio,
      });
      return lines;
    },
  },
  data: {
    summary: 'Fashion-MNIST import time; augmented images/s through the batch producer vs naive sharp',
    run: async () => (await import('../services/batches/bench-data.ts')).benchData(),
  },
  train: {
    summary: 'training images/s at batch 64 for every model family (28x28x1, 32x32x3); LeNet-5 vs TF.js WebGPU; lenet5_roofline; step breakdown',
    run: async () => (await import('../../bench/train.ts')).runTrainBench({ log: (l) => console.error(l) }),
  },
};

export const benchCommand: Command = {
  name: 'bench',
  summary: 'run benchmarks and print JSON lines (suites: ' + Object.keys(SUITES).join(', ') + ', all)',
  usage: [
    'Usage: layerlab bench <suite…|all> [--iters N]',
    '',
    'Suites:',
    ...Object.entries(SUITES).map(([k, s]) => `  ${k.padEnd(10)} ${s.summary}`),
    '',
    'Prints one JSON object per line: {"suite", "name", "unit", "ours", "reference", "ratio"}.',
    'ratio > 1 means LayerLab is faster. Software adapters (lavapipe) are CPU emulations: compare within one run.',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parse(argv, { iters: { type: 'string' } });
    const names = positionals.length === 0 || positionals.includes('all') ? Object.keys(SUITES) : positionals;
    for (const n of names) if (!SUITES[n]) throw new UsageError(`Unknown suite "${n}". Suites: ${Object.keys(SUITES).join(', ')}, all.`);
    const iters = values.iters === undefined ? undefined : Number(values.iters);
    if (iters !== undefined && (!Number.isInteger(iters) || iters < 1 || iters > 10_000)) throw new UsageError('--iters must be an integer from 1 to 10000');
    for (const n of names) {
      for (const line of await SUITES[n].run({ iters })) console.log(JSON.stringify({ suite: n, ...line }));
    }
    return 0;
  },
};
