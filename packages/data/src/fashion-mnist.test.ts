import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetNotFoundError, DEFAULT_FASHION_MNIST_DIR, IdxFormatError, loadFashionMnist } from './index';

const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

describe('loadFashionMnist', () => {
  it('loads the real dataset: 60000 train / 10000 test 28x28 images, balanced labels 0..9', async () => {
    const data = await loadFashionMnist(DEFAULT_FASHION_MNIST_DIR);
    expect(data.name).toBe('fashion-mnist');
    expect(data.inputDims).toEqual([784]);
    expect(data.numClasses).toBe(10);
    expect(data.train.n).toBe(60000);
    expect(data.test.n).toBe(10000);
    expect(data.train.images.length).toBe(60000 * 784);
    expect(data.test.images.length).toBe(10000 * 784);
    const counts = (labels: Uint8Array) => labels.reduce((c, l) => (c[l]++, c), new Array(10).fill(0));
    expect(counts(data.train.labels)).toEqual(new Array(10).fill(6000));
    expect(counts(data.test.labels)).toEqual(new Array(10).fill(1000));
    // Published Fashion-MNIST statistics: mean 0.2860, std 0.3530.
    expect(data.pixelMean).toBeCloseTo(0.286, 3);
    expect(data.pixelStd).toBeCloseTo(0.353, 3);
  });

  it('reads a folder once per process', async () => {
    const a = await loadFashionMnist(DEFAULT_FASHION_MNIST_DIR);
    const b = await loadFashionMnist(DEFAULT_FASHION_MNIST_DIR + '/');
    expect(b).toBe(a);
  });

  describe('with a custom folder', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'retain-fmnist-'));
    });
    afterEach(async () => {
      delete process.env.RETAIN_FASHION_MNIST_DIR;
      await rm(dir, { recursive: true, force: true });
    });

    it('says which files are missing, where, and how to install them', async () => {
      await symlink(join(DEFAULT_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'), join(dir, 'train-images-idx3-ubyte.gz'));
      const err = await loadFashionMnist(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatasetNotFoundError);
      const message = (err as Error).message;
      expect(message).toContain(dir);
      expect(message).toContain('train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz');
      expect(message).not.toContain('missing train-images');
      expect(message).toContain('apt-get install dataset-fashion-mnist');
      expect(message).toContain('RETAIN_FASHION_MNIST_DIR');
    });

    it('a truncated .gz fails naming the file, not only zlib\'s "unexpected end of file"', async () => {
      for (const base of FILES) await symlink(join(DEFAULT_FASHION_MNIST_DIR, `${base}.gz`), join(dir, `${base}.gz`));
      const cut = join(dir, 'train-labels-idx1-ubyte.gz');
      const bytes = await readFile(cut);
      await rm(cut);
      await writeFile(cut, bytes.subarray(0, 1000));
      const err = await loadFashionMnist(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdxFormatError);
      expect((err as Error).message).toBe(`${cut} is not a complete gzip file (unexpected end of file); re-download or reinstall it`);
    });

    it('follows RETAIN_FASHION_MNIST_DIR and accepts plain (not gzipped) IDX files', async () => {
      for (const base of FILES) {
        if (base.includes('labels')) {
          await writeFile(join(dir, base), gunzipSync(await readFile(join(DEFAULT_FASHION_MNIST_DIR, `${base}.gz`))));
        } else {
          await symlink(join(DEFAULT_FASHION_MNIST_DIR, `${base}.gz`), join(dir, `${base}.gz`));
        }
      }
      process.env.RETAIN_FASHION_MNIST_DIR = dir;
      const custom = await loadFashionMnist();
      const standard = await loadFashionMnist(DEFAULT_FASHION_MNIST_DIR);
      expect(custom).not.toBe(standard);
      expect(Buffer.from(custom.test.labels).equals(Buffer.from(standard.test.labels))).toBe(true);
      expect(custom.train.n).toBe(60000);
    });
  });
});
