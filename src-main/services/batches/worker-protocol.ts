/** Messages between the batch producer and its augmentation workers. */
import type { AugmentStepInput } from '../augment/pipeline-schema.ts';

export interface WorkerRequest {
  id: number;
  /** Packed [B, H, W, C] uint8 (transferred). */
  images: ArrayBuffer;
  indices: ArrayBuffer;
  shape: [number, number, 1 | 3];
  pipeline: AugmentStepInput[];
  seed: number;
  epoch: number;
}

export type WorkerResponse = { id: number; images: ArrayBuffer } | { id: number; error: string };
