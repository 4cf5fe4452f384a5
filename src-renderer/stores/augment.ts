/**
 * The augmentation pipeline being edited in the Datasets view; the Train view
 * starts from it. A crop of a few pixels and a small rotation are safe for
 * digits and clothes alike, so that is the starting point.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { defaultStep } from '../augment/catalogue.ts';

export const useAugment = defineStore('augment', () => {
  const pipeline = ref<Record<string, unknown>[]>([
    { ...defaultStep('randomCrop'), padding: 2 },
    { ...defaultStep('rotate'), degrees: 10 },
  ]);
  return { pipeline };
});
