/**
 * The model card written beside every export (after Mitchell et al. 2019,
 * "Model Cards for Model Reporting", reduced to what a lab run knows):
 * architecture, parameters, dataset, training configuration, test error with
 * its 95% confidence interval, date and engine version, and how to load the
 * files of this export.
 */
import { describeGraph } from '../models/describe.ts';
import { formatLayerTable } from '../models/table.ts';
import type { ModelGraph } from '../models/graph.ts';
import { classNamesOf, type ExportInfo, normalizationOf, wilsonInterval } from './export-info.ts';

export type CardFormat = 'safetensors' | 'onnx' | 'pytorch';

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
const num = (v: number): string => v.toLocaleString('en-US');

function usage(format: CardFormat, files: readonly string[], graph: ModelGraph): string {
  const [c, h, w] = graph.input;
  const file = files[0] ?? 'model';
  switch (format) {
    case 'safetensors':
      return [
        'Tensors named as the PyTorch `state_dict` of the equivalent module tree; readable with',
        '`safetensors.torch.load_file`, with the `model.py` of a PyTorch export, or imported back into LayerLab.',
        '',
        '```python',
        'from safetensors.torch import load_file',
        `state = load_file("${file}")`,
        '```',
      ].join('\n');
    case 'onnx':
      return [
        '```python',
        'import numpy as np, onnxruntime as ort',
        `session = ort.InferenceSession("${file}")`,
        `pixels = np.zeros((1, ${c}, ${h}, ${w}), dtype=np.float32)  # raw 0..255`,
        'logits = session.run(["logits"], {"pixels": pixels})[0]',
        '```',
      ].join('\n');
    case 'pytorch':
      return [
        '```python',
        'from model import load_model',
        'model = load_model("weights.safetensors")  # eval mode',
        `logits = model(pixels)                      # pixels: float32 [N, ${c}, ${h}, ${w}], raw 0..255`,
        '```',
        '',
        'Continue training on one or many machines (DistributedDataParallel):',
        '',
        '```sh',
        'torchrun --nproc_per_node=1 train.py --data <LayerLab dataset folder> --weights weights.safetensors --epochs 1',
        '```',
      ].join('\n');
  }
}

function trainingLines(training: Record<string, unknown> | undefined): string[] {
  if (!training) return ['Not recorded (the weights were exported without a run).'];
  const show = (v: unknown): string => (typeof v === 'object' ? `\`${JSON.stringify(v)}\`` : String(v));
  const keys = ['epochs', 'batchSize', 'optimizer', 'schedule', 'labelSmoothing', 'augment', 'devFraction', 'trainSubset', 'seed'];
  const lines = keys.filter((k) => training[k] !== undefined).map((k) => `| ${k} | ${show(training[k])} |`);
  return ['| setting | value |', '|---|---|', ...lines];
}

/** The Markdown model card for an export. */
export function modelCard(graph: ModelGraph, info: ExportInfo, format: CardFormat, files: readonly string[]): string {
  const d = describeGraph(graph);
  const norm = normalizationOf(graph);
  const classes = classNamesOf(graph, info);
  const [c, h, w] = graph.input;
  const title = info.runName ?? `${graph.family} classifier`;
  const test = info.test;
  let testLine = 'Not evaluated on a test set.';
  if (test) {
    const [lo, hi] = test.ci95 ?? wilsonInterval(test.error, test.count);
    testLine =
      `**${pct(test.error)}** test error (accuracy ${pct(1 - test.error)}) on ${num(test.count)} test images; ` +
      `95% confidence interval ${pct(lo)} – ${pct(hi)} (±${((hi - lo) * 50).toFixed(2)} points)` +
      `${test.checkpoint ? `, weights of checkpoint \`${test.checkpoint}\`` : ''}.`;
  }
  const ds = info.dataset;
  return [
    `# ${title}`,
    '',
    `Exported by LayerLab ${info.engineVersion} on ${info.date.slice(0, 10)} as **${format}**` +
      `${info.runId ? ` from run \`${info.runId}\`` : ''}${info.checkpoint ? `, checkpoint \`${info.checkpoint}\`` : ''}.`,
    '',
    '| | |',
    '|---|---|',
    `| Architecture | ${graph.family} (options \`${JSON.stringify(graph.options)}\`) |`,
    `| Parameters | ${num(d.totalParams)} trainable |`,
    `| Compute | ${num(Math.round(d.totalFlops))} FLOPs per image |`,
    `| Input | \`pixels\`: float32 [N, ${c}, ${h}, ${w}], raw values 0–255 |`,
    `| Normalisation (inside the model) | (x / 255 − mean) / std, mean ${JSON.stringify(norm.mean)}, std ${JSON.stringify(norm.std)} |`,
    `| Output | \`logits\`: [N, ${graph.classes}] (softmax gives probabilities) |`,
    `| Dataset | ${ds ? `${ds.name} (\`${ds.id}\`)${ds.trainCount !== undefined ? `, ${num(ds.trainCount)} training images` : ''}${ds.testCount !== undefined ? `, ${num(ds.testCount)} test images` : ''}${ds.source ? `; source: ${ds.source}` : ''}` : 'not recorded'} |`,
    `| Test error | ${testLine} |`,
    `| Date | ${info.date} |`,
    `| Engine | LayerLab ${info.engineVersion} |`,
    '',
    '## Files',
    '',
    ...files.map((f) => `- \`${f}\``),
    '',
    '## How to use',
    '',
    usage(format, files, graph),
    '',
    '## Classes',
    '',
    classes.map((n, i) => `${i}: ${n}`).join(' · '),
    '',
    '## Training configuration',
    '',
    ...trainingLines(info.training),
    '',
    '## Architecture',
    '',
    '```',
    formatLayerTable(d),
    '```',
    '',
    '## Limitations',
    '',
    '- The test error is measured on the dataset above only; images from another source (other cameras, sizes,',
    '  backgrounds, writing styles) can be classified much worse.',
    '- The confidence interval covers sampling error of the test set, not a change of data distribution.',
    '',
  ].join('\n');
}
