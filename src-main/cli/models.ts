/** `layerlab models list|show <family>`: the model zoo and a configuration's layer table (no GPU needed). */
import type { Command } from './index.ts';
import { parse, UsageError } from './args.ts';
import { modelOptions } from './train-options.ts';
import { compileModel, describeGraph, formatCount, formatLayerTable, MODEL_FAMILIES, getFamily } from '../../src-engine/models/index.ts';

const USAGE = `Usage: layerlab models <action> [--json]

Actions:
  list                          the model families, what each teaches, default options
  show <family> [--input CxHxW] [--classes N] [--option k=v …] [--options <json>]
                                the layer table: output shape, parameters and FLOPs per sample
                                (default input 1x28x28, 10 classes)`;

function parseInput(text: string | undefined): [number, number, number] {
  if (!text) return [1, 28, 28];
  const m = /^(\d+)[x×,](\d+)[x×,](\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--input must be CxHxW, e.g. 3x32x32, got "${text}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list the model families or show a layer table (shapes, parameters, FLOPs)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      json: { type: 'boolean' },
      input: { type: 'string' },
      classes: { type: 'string' },
      option: { type: 'string', multiple: true },
      options: { type: 'string' },
      'data-dir': { type: 'string' },
    });
    const [action, name] = positionals;
    if (action === 'list' || action === undefined) {
      for (const f of Object.values(MODEL_FAMILIES)) {
        if (values.json) console.log(JSON.stringify({ name: f.name, title: f.title, description: f.description, teaches: f.teaches, defaults: f.defaults, options: f.optionHelp }));
        else console.log(`${f.name.padEnd(12)} ${f.title}\n${' '.repeat(13)}${f.description}\n`);
      }
      return 0;
    }
    if (action !== 'show') throw new UsageError(`Unknown action "${action}".\n\n${USAGE}`);
    if (!name) throw new UsageError('which model? layerlab models show <family> (layerlab models list)');
    const family = getFamily(name);
    const input = parseInput(values.input);
    const classes = values.classes === undefined ? 10 : Number(values.classes);
    if (!Number.isInteger(classes) || classes < 2) throw new UsageError('--classes must be an integer ≥ 2');
    const graph = compileModel(name, modelOptions(values.options, values.option), input, classes);
    const d = describeGraph(graph);
    if (values.json) {
      console.log(JSON.stringify({ family: name, options: graph.options, input, classes, totalParams: d.totalParams, totalFlops: d.totalFlops, rows: d.rows, graph }));
      return 0;
    }
    console.log(`${family.title} — input [${input.join(', ')}], ${classes} classes, options ${JSON.stringify(graph.options)}\n`);
    console.log(formatLayerTable(d));
    console.log(`\n${d.totalParams.toLocaleString('en-US')} parameters, ${formatCount(d.totalFlops)} FLOPs per sample (forward)`);
    console.log('\nOptions:');
    for (const [k, help] of Object.entries(family.optionHelp)) console.log(`  ${k.padEnd(14)} ${help}  (default ${JSON.stringify(family.defaults[k])})`);
    return 0;
  },
};
