import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { IdxFormatError, readIdx } from './idx';
import { loadOnce } from './load-once';

/** A labelled image dataset held as raw uint8 pixels (row-major, one image after another). */
export interface ImageDataset {
  name: string;
  inputDims: number[];
  numClasses: number;
  train: { images: Uint8Array; labels: Uint8Array; n: number };
  test: { images: Uint8Array; labels: Uint8Array; n: number };
  /** Mean and standard deviation of the training pixels scaled to [0, 1], for normalisation. */
  pixelMean: number;
  pixelStd: number;
}

export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export class DatasetNotFoundError extends Error {
  constructor(
    readonly dir: string,
    readonly missing: string[],
  ) {
    super(
      `Fashion-MNIST not found in ${dir}: missing ${missing.join(', ')}. ` +
        `Install it with "apt-get install dataset-fashion-mnist", or set RETAIN_FASHION_MNIST_DIR ` +
        `to a folder holding the four IDX files (gzipped .gz or plain).`,
    );
    this.name = 'DatasetNotFoundError';
  }
}

/**
 * Loads Fashion-MNIST from `dir` (default: $RETAIN_FASHION_MNIST_DIR, else the Debian package's
 * folder). Each folder is read once per process; later calls share the same buffers.
 */
export function loadFashionMnist(dir?: string): Promise<ImageDataset> {
  return loadFolder(resolve(dir ?? process.env.RETAIN_FASHION_MNIST_DIR ?? DEFAULT_FASHION_MNIST_DIR));
}

// A failed load (e.g. not installed yet) is not remembered: the next call tries again.
const loadFolder = loadOnce((folder: string) => load(folder));

async function load(dir: string): Promise<ImageDataset> {
  const paths = await locateFiles(dir);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [paths.trainImages, paths.trainLabels, paths.testImages, paths.testLabels].map(readIdxFile),
  );
  const train = split('train', trainImages, trainLabels);
  const test = split('test', testImages, testLabels);
  const { mean, std } = pixelStatistics(train.images);
  return { name: 'fashion-mnist', inputDims: [784], numClasses: 10, train, test, pixelMean: mean, pixelStd: std };
}

async function locateFiles(dir: string): Promise<Record<keyof typeof FILES, string>> {
  const found: Partial<Record<keyof typeof FILES, string>> = {};
  const missing: string[] = [];
  for (const [key, base] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
    const candidates = [join(dir, `${base}.gz`), join(dir, base)];
    const path = await firstExisting(candidates);
    if (path) found[key] = path;
    else missing.push(`${base}.gz`);
  }
  if (missing.length > 0) throw new DatasetNotFoundError(dir, missing);
  return found as Record<keyof typeof FILES, string>;
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path);
      return path;
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

async function readIdxFile(path: string): Promise<{ dims: number[]; data: Uint8Array; path: string }> {
  let bytes: Uint8Array = await readFile(path);
  // Decide by the gzip magic bytes, not the name, so a renamed file still loads.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = await promisify(gunzip)(bytes).catch((err: Error) => {
      // zlib's own message ("unexpected end of file") names no file.
      throw new IdxFormatError(`${path} is not a complete gzip file (${err.message}); re-download or reinstall it`);
    });
  }
  return { ...readIdx(bytes, path), path };
}

type IdxFile = { dims: number[]; data: Uint8Array; path: string };

function split(which: string, images: IdxFile, labels: IdxFile): { images: Uint8Array; labels: Uint8Array; n: number } {
  const [n, rows, cols] = images.dims;
  if (images.dims.length !== 3 || rows !== 28 || cols !== 28) {
    throw new Error(`${images.path}: expected ${which} images of shape [n, 28, 28], got [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== n) {
    throw new Error(`${labels.path}: expected ${n} ${which} labels to match ${images.path}, got shape [${labels.dims.join(', ')}]`);
  }
  const bad = labels.data.findIndex((label) => label > 9);
  if (bad >= 0) throw new Error(`${labels.path}: label ${labels.data[bad]} at index ${bad} is outside the 10 Fashion-MNIST classes`);
  return { images: images.data, labels: labels.data, n };
}

/** Mean and std of pixel/255 over all training pixels, from a histogram so the sums are exact. */
function pixelStatistics(images: Uint8Array): { mean: number; std: number } {
  const histogram = new Float64Array(256);
  for (let i = 0; i < images.length; i++) histogram[images[i]]++;
  let sum = 0;
  let sumSquares = 0;
  for (let v = 0; v < 256; v++) {
    sum += histogram[v] * v;
    sumSquares += histogram[v] * v * v;
  }
  const mean = sum / images.length;
  const variance = sumSquares / images.length - mean * mean;
  return { mean: mean / 255, std: Math.sqrt(variance) / 255 };
}
