/**
 * Shared parsing for the training commands: `--option k=v` values, the
 * model-options JSON, the dataset argument (library id, name or a path to
 * import), and the mapping from a config field to the flag that sets it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './args.ts';
import type { DatasetInfo, DatasetLibrary } from '../services/datasets/index.ts';

/** `hidden=[128,64]` → ['hidden', [128, 64]]; values are JSON when they parse as JSON, else strings. */
export function parseOptionPair(pair: string, flag = '--option'): [string, unknown] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flag} expects key=value, got "${pair}"`);
  const key = pair.slice(0, eq).trim();
  const raw = pair.slice(eq + 1).trim();
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare word (relu, modern, A) is a string
  }
  return [key, value];
}

export function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${flag} is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`${flag} must be a JSON object, e.g. '{"hidden": [128]}'`);
  return v as Record<string, unknown>;
}

export function parseNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got "${value}"`);
  return n;
}

/** Model options from `--options <json>` and repeated `--option k=v` (the latter win). */
export function modelOptions(json: string | undefined, pairs: string[] | undefined): Record<string, unknown> {
  const out = json ? parseJsonObject(json, '--options') : {};
  for (const p of pairs ?? []) {
    const [k, v] = parseOptionPair(p);
    out[k] = v;
  }
  return out;
}

/**
 * A dataset argument: a library id, a unique name / id prefix, or a path to
 * files (imported first, or recognised when imported before).
 */
export async function resolveDataset(lib: DatasetLibrary, arg: string, log: (line: string) => void): Promise<DatasetInfo> {
  const all = await lib.list();
  const exact = all.find((d) => d.id === arg);
  if (exact) return exact;
  const lower = arg.toLowerCase();
  const named = all.filter((d) => d.name.toLowerCase() === lower);
  if (named.length === 1) return named[0];
  const byName = named.length > 1 ? named : all.filter((d) => d.id.startsWith(lower));
  if (byName.length === 1) return byName[0];
  if (existsSync(arg)) {
    log(`Importing ${arg} …`);
    const { dataset, existing } = await lib.importFiles([resolve(arg)]);
    log(existing ? `Already in the library as ${dataset.id}.` : `Imported as ${dataset.id} (${dataset.name}).`);
    return dataset;
  }
  if (byName.length > 1) throw new UsageError(`--dataset "${arg}" matches several datasets: ${byName.map((d) => d.id).join(', ')}. Give the id.`);
  throw new UsageError(
    `--dataset "${arg}" is neither a dataset in the library nor an existing path. Datasets: ${all.map((d) => d.id).join(', ') || '(none: import one with layerlab dataset import <path>)'}.`,
  );
}

/** The CLI flag that sets a run-config field (for error messages). */
export const FLAG_FOR_FIELD: Record<string, string> = {
  datasetId: '--dataset',
  devFraction: '--dev-fraction',
  trainSubset: '--subset',
  'model.family': '--model',
  epochs: '--epochs',
  batchSize: '--batch-size',
  seed: '--seed',
  labelSmoothing: '--label-smoothing',
  logEvery: '--log-every',
  gradNormEvery: '--grad-norm-every',
  evalEvery: '--eval-every',
  keepCheckpoints: '--keep-checkpoints',
  'optimizer.type': '--optimizer',
  'optimizer.lr': '--lr',
  'optimizer.momentum': '--momentum',
  'optimizer.nesterov': '--nesterov',
  'optimizer.weightDecay': '--weight-decay',
  'optimizer.clipNorm': '--clip-norm',
  name: '--name',
  initWeights: '--init-weights',
};

export function flagFor(field: string): string {
  if (FLAG_FOR_FIELD[field]) return FLAG_FOR_FIELD[field];
  if (field.startsWith('model.options.')) return `--option ${field.slice('model.options.'.length).split('.')[0]}=…`;
  if (field.startsWith('schedule')) return '--schedule';
  if (field.startsWith('optimizer')) return '--optimizer-options';
  if (field.startsWith('augment')) return '--augment';
  return field;
}

/** "1m 05s", "42s", "2h 03m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
