/** Where Debian's dataset-fashion-mnist puts the real files; fails (never skips) when absent. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

export function requireDebianFashionMnist(): void {
  const missing = FILES.filter((f) => !existsSync(join(DEBIAN_FASHION_MNIST, f)));
  if (missing.length) {
    throw new Error(`Real Fashion-MNIST is missing (${missing.join(', ')} in ${DEBIAN_FASHION_MNIST}). Install it: apt-get install dataset-fashion-mnist`);
  }
}
