/**
 * Content checksums that identify well-known datasets whose files carry no
 * name inside them. We hash the *decompressed* label files: the Debian
 * package recompresses Fashion-MNIST (its .gz differ from upstream's), but
 * the decompressed bytes are the same, so one hash recognises both.
 */
import { sha256 } from '../bytes.ts';

/** sha256 of the decompressed IDX label files of Fashion-MNIST (checked against Debian's dataset-fashion-mnist). */
export const FASHION_MNIST_LABEL_SHA256 = {
  train: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  test: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
} as const;

/** Zalando's class names, in label order (from the Fashion-MNIST README). */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export function isFashionMnistLabels(fileBytes: Uint8Array): boolean {
  const h = sha256(fileBytes);
  return h === FASHION_MNIST_LABEL_SHA256.train || h === FASHION_MNIST_LABEL_SHA256.test;
}
