/**
 * What every importer produces: decoded, validated pixels and labels in
 * memory, ready for the writer. Importers never touch the library.
 */
import type { DatasetKind, DatasetManifest } from './format.ts';

export interface DraftSplit {
  /** [count, H, W, C] uint8. */
  images: Uint8Array;
  labels: Uint8Array | Uint16Array;
  coarseLabels?: Uint8Array;
}

export interface DatasetDraft {
  name: string;
  kind: DatasetKind;
  shape: [number, number, 1 | 3];
  classNames: string[];
  coarseClassNames?: string[];
  splits: { train: DraftSplit; test?: DraftSplit };
  provenance: DatasetManifest['provenance'];
}

export function splitCount(draft: DatasetDraft, s: DraftSplit): number {
  const [h, w, c] = draft.shape;
  return s.images.length / (h * w * c);
}
