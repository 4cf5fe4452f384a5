/**
 * `layerlab export <run> --format safetensors|onnx|pytorch --out <path>`:
 * writes a run's trained model (the checkpoint its test results came from,
 * else the latest; --checkpoint picks another) with a model card beside it.
 */
import { resolve } from 'node:path';
import type { Command } from './index.ts';
import { parse, UsageError } from './args.ts';
import { interruptSignal, terminalProgress } from './progress.ts';
import { ensureDataDir, resolveDataDir } from '../services/data-dir.ts';
import { defaultDestination, EXPORT_FORMATS, exportRun, type ExportFormat } from '../services/export/index.ts';

const USAGE = `Usage: layerlab export <run id> --format <${EXPORT_FORMATS.join('|')}> [--out <path>] [--overwrite]
                       [--checkpoint <epoch-N|step-N>] [--data-dir <dir>]

Formats:
  safetensors  the weights (PyTorch state_dict names) + metadata: config, class names, normalisation, run, dataset
  onnx         opset 17 inference graph: input "pixels" float32 [N, C, H, W] raw 0–255, output "logits" [N, classes]
  pytorch      a folder: model.py (nn.Module + load_model), train.py (torchrun + DistributedDataParallel),
               weights.safetensors

--out: a folder, or a file name ending in .safetensors / .onnx (default: <data dir>/exports/<run id>/).
A model card (Markdown) is written beside every export. Existing files are never replaced without --overwrite.`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a trained run as safetensors, ONNX or PyTorch code (with a model card)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      format: { type: 'string', short: 'f' },
      out: { type: 'string', short: 'o' },
      overwrite: { type: 'boolean' },
      checkpoint: { type: 'string' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
    });
    const [runId, ...extra] = positionals;
    if (!runId) throw new UsageError(`Which run? layerlab export <run id> --format <${EXPORT_FORMATS.join('|')}> (layerlab runs list shows the ids)`);
    if (extra.length) throw new UsageError(`Unexpected argument: ${extra[0]}`);
    const format = values.format as ExportFormat | undefined;
    if (!format || !EXPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
    const layout = ensureDataDir(resolveDataDir(values['data-dir']));
    const destination = values.out ? resolve(values.out) : defaultDestination(layout, runId, format);

    const bar = terminalProgress('Exporting');
    const { signal, dispose } = interruptSignal();
    try {
      const r = await exportRun(layout, runId, {
        format,
        destination,
        overwrite: values.overwrite ?? false,
        checkpoint: values.checkpoint,
        signal,
        onProgress: (p) => bar.update(p.phase, p.done, p.total),
      });
      bar.end();
      if (values.json) console.log(JSON.stringify(r));
      else {
        console.log(`Exported run ${runId} as ${format}:`);
        for (const f of r.files) console.log(`  ${f.path}  (${f.bytes.toLocaleString('en-US')} bytes)`);
      }
      return 0;
    } finally {
      dispose();
    }
  },
};
