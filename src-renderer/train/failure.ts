/**
 * What went wrong with a failed run, in words: the services' message says
 * exactly what happened; this adds a headline and what to try.
 */
export type FailureKind = 'diverged' | 'out-of-memory' | 'device-lost' | 'interrupted' | 'data' | 'config' | 'error';

export interface FailureExplanation {
  kind: FailureKind;
  headline: string;
  suggestion: string;
}

export function explainFailure(state: string, message = ''): FailureExplanation | null {
  if (state === 'interrupted') {
    return { kind: 'interrupted', headline: 'Training was interrupted', suggestion: 'Resume the run: it continues from its last checkpoint.' };
  }
  if (state !== 'failed') return null;
  const m = message.toLowerCase();
  if (/diverg|\bnan\b|not finite|\binfinity\b/.test(m)) {
    return {
      kind: 'diverged',
      headline: 'The loss diverged',
      suggestion: 'Lower the learning rate (try a third of it), add gradient clipping, or use a warm-up schedule.',
    };
  }
  if (/out of (gpu )?memory|out-of-memory|create a new run with batch size \d+|exceeds the (device|gpu)/.test(m)) {
    return { kind: 'out-of-memory', headline: 'The GPU ran out of memory', suggestion: 'Start a new run with a smaller batch size (half) or a smaller model.' };
  }
  if (/device (was )?lost|lost the device|device lost|gpu was reset|gpu process/.test(m)) {
    return {
      kind: 'device-lost',
      headline: 'The GPU device was lost',
      suggestion: 'The driver reset or another program took the GPU. Resume the run: it continues from its last checkpoint.',
    };
  }
  if (/invalid model/.test(m)) return { kind: 'config', headline: 'The model configuration is invalid', suggestion: 'Fix the model options and start a new run.' };
  if (/dataset|split|manifest/.test(m)) return { kind: 'data', headline: 'The dataset could not be read', suggestion: 'Check the dataset in the Datasets view, or re-import it.' };
  return { kind: 'error', headline: 'Training stopped with an error', suggestion: 'Resume to try again from the last checkpoint.' };
}
