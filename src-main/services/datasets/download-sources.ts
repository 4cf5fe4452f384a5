/**
 * Official download locations and their published checksums.
 *
 * MD5s are the ones the dataset authors publish (CIFAR page, Zalando's
 * README) and torchvision checks; mirrors are tried in order. We download
 * CIFAR's *binary* version so no pickle is involved.
 * Sizes are informational (progress before Content-Length is known).
 */
export interface DownloadFile {
  name: string;
  /** Tried in order; a file that fails its checksum moves on to the next mirror. */
  urls: string[];
  md5?: string;
  sha256?: string;
  bytes?: number;
}

export interface DownloadSource {
  id: string;
  title: string;
  files: DownloadFile[];
  licence?: string;
}

const mnistFile = (name: string, md5: string, mirrors: string[]): DownloadFile => ({ name, md5, urls: mirrors.map((m) => m + name) });

// torchvision's mirror list: the S3 copy first, LeCun's site as fallback (often rate-limited).
const MNIST_MIRRORS = ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'];
const FASHION_MIRRORS = [
  'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
];

export const KNOWN_DOWNLOADS = {
  mnist: {
    id: 'mnist',
    title: 'MNIST',
    files: [
      mnistFile('train-images-idx3-ubyte.gz', 'f68b3c2dcbeaaa9fbdd348bbdeb94873', MNIST_MIRRORS),
      mnistFile('train-labels-idx1-ubyte.gz', 'd53e105ee54ea40749a09fcbcd1e9432', MNIST_MIRRORS),
      mnistFile('t10k-images-idx3-ubyte.gz', '9fb629c4189551a2d022fa330f9573f3', MNIST_MIRRORS),
      mnistFile('t10k-labels-idx1-ubyte.gz', 'ec29112dd5afa0611ce80d1b7f02629c', MNIST_MIRRORS),
    ],
  },
  'fashion-mnist': {
    id: 'fashion-mnist',
    title: 'Fashion-MNIST',
    licence: 'MIT (Zalando SE)',
    files: [
      mnistFile('train-images-idx3-ubyte.gz', '8d4fb7e6c68d591d4c3dfef9ec88bf0d', FASHION_MIRRORS),
      mnistFile('train-labels-idx1-ubyte.gz', '25c81989df183df01b3e8a0aad5dffbe', FASHION_MIRRORS),
      mnistFile('t10k-images-idx3-ubyte.gz', 'bef4ecab320f06d8554ea6380940ec79', FASHION_MIRRORS),
      mnistFile('t10k-labels-idx1-ubyte.gz', 'bb300cfdad3c16e7a12a480ee83cd310', FASHION_MIRRORS),
    ],
  },
  cifar10: {
    id: 'cifar10',
    title: 'CIFAR-10',
    files: [
      {
        name: 'cifar-10-binary.tar.gz',
        urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'],
        md5: 'c32a1d4ab5d03f1284b67883e8d87530',
        bytes: 170_052_171,
      },
    ],
  },
  cifar100: {
    id: 'cifar100',
    title: 'CIFAR-100',
    files: [
      {
        name: 'cifar-100-binary.tar.gz',
        urls: ['https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz'],
        md5: '03b5dce01913d631647c71ecec9e9cb8',
        bytes: 168_513_733,
      },
    ],
  },
} satisfies Record<string, DownloadSource>;

export type KnownDownloadId = keyof typeof KNOWN_DOWNLOADS;
