import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { ArtifactNotFoundError, ArtifactStoreError } from '@retain/artifacts';
import { DatasetNotFoundError, IdxFormatError, ScenarioConfigError } from '@retain/data';
import { FAILURE_TYPES, NON_RETRYABLE_ERROR_TYPES, PluginError, SpecError, type FailureDetails } from '@retain/sdk';
import { asPluginError, asPluginErrorSync, classifiedActivity, classifyError } from './failures';

const systemError = (code: string, message: string, extra: object = {}) => Object.assign(new Error(message), { code, ...extra });

describe('classifyError: one table of failure types', () => {
  test.each([
    ['SpecError', new SpecError('model.config.hidden', 'must be a list')],
    ['ScenarioConfigError', new ScenarioConfigError('trainPerTask: asked for 99999 samples but only 60000 exist')],
    ['DatasetNotFoundError', new DatasetNotFoundError('/nowhere', ['train-images-idx3-ubyte.gz'])],
    ['IdxFormatError', new IdxFormatError('/d/train-images-idx3-ubyte is truncated')],
    ['ArtifactNotFoundError', new ArtifactNotFoundError(`sha256:${'0'.repeat(64)}`, 'local folder /x')],
    ['ArtifactStoreError', new ArtifactStoreError('s3 down')],
    ['InternalError', new TypeError('x is not a function')],
    ['InternalError', new SyntaxError('Unexpected token')],
    ['OutOfMemoryError', new RangeError('Invalid typed array length: 784000000000')],
    ['OutOfMemoryError', new RangeError('Array buffer allocation failed')],
    ['DiskFullError', systemError('ENOSPC', 'ENOSPC: no space left on device, write', { path: '/full/a' })],
    ['FileSystemError', systemError('ENOENT', "ENOENT: no such file or directory, open '/d/x'")],
    ['FileSystemError', systemError('ENAMETOOLONG', 'ENAMETOOLONG: name too long')],
    ['IdxFormatError', systemError('Z_BUF_ERROR', 'unexpected end of file')],
    ['NetworkError', systemError('ECONNRESET', 'socket hang up')],
    ['NetworkError', Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' })],
    ['SpecError', Object.assign(new Error('[{"path": ["bits"]}]'), { name: 'ZodError' })],
    ['Error', new Error('something else')],
  ])('%s ← %s', (type, err) => {
    expect(classifyError(err).type).toBe(type);
  });

  test('only the transient types are retried, and the workflow lists every other one as non-retryable', () => {
    const retried = Object.entries(FAILURE_TYPES)
      .filter(([, t]) => t.retryable)
      .map(([name]) => name);
    expect(retried.sort()).toEqual(['ArtifactStoreError', 'Error', 'NetworkError']);
    expect([...NON_RETRYABLE_ERROR_TYPES, ...retried].sort()).toEqual(Object.keys(FAILURE_TYPES).sort());
  });

  test('a full disk names the path, and the fix', () => {
    const c = classifyError(systemError('ENOSPC', 'ENOSPC: no space left on device, write', { path: '/mnt/full/artifacts/ab' }));
    expect(c.message).toBe('no space left on the device of /mnt/full/artifacts/ab (ENOSPC)');
    expect(c.fix).toMatch(/RETAIN_HOME or RETAIN_ARTIFACTS/);
  });

  test("zlib's 'unexpected end of file' on a cut .gz is corrupt data (the data layer also names the file)", async () => {
    const gz = await readFile('/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz');
    const err = await promisify(gunzip)(gz.subarray(0, 1000)).catch((e: unknown) => e);
    expect(classifyError(err)).toMatchObject({ type: 'IdxFormatError', message: 'corrupt compressed data (unexpected end of file)' });
  });
});

describe('asPluginError: what a plugin throws', () => {
  test('a plain Error (a config the plugin refuses) becomes a non-retryable PluginError, its plugin named once', async () => {
    const err = await asPluginError(
      'model transformer',
      () => ({}),
      () => Promise.reject(new Error('model transformer: width 16 must be divisible by attentionHeads 3')),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toBe('model transformer: width 16 must be divisible by attentionHeads 3');
    expect(classifyError(err).type).toBe('PluginError');
  });

  test('a TypeError names the plugin, task and step and the frame that threw it, with the fix', async () => {
    const err = await asPluginError(
      'method buggy',
      () => ({ task: 1, step: 7 }),
      async () => {
        const nothing = undefined as unknown as { fisher(): void };
        nothing.fisher();
      },
    ).catch((e: unknown) => e);
    const c = classifyError(err);
    expect(c).toMatchObject({ type: 'PluginError', plugin: 'method buggy', task: 1, step: 7, errorName: 'TypeError' });
    expect(c.message).toMatch(/^method buggy \(task 1, step 7\): TypeError: .*fisher.* \(at .*failures\.test\.ts:\d+:\d+\)\)$/);
    expect(c.fix).toMatch(/bug in plugin buggy/);
  });

  test('a missing dataset keeps its own type, with the plugin that read it', async () => {
    const err = await asPluginError(
      'benchmark permuted-fmnist',
      () => ({}),
      () => Promise.reject(new DatasetNotFoundError('/nowhere', ['t10k-images-idx3-ubyte.gz'])),
    ).catch((e: unknown) => e);
    expect(classifyError(err)).toMatchObject({ type: 'DatasetNotFoundError', plugin: 'benchmark permuted-fmnist' });
    expect(classifyError(err).message).toMatch(/^benchmark permuted-fmnist: Fashion-MNIST not found in \/nowhere/);
  });

  test('a model too large to allocate is an OutOfMemoryError naming the model', () => {
    const err = (() => {
      try {
        return asPluginErrorSync('model mlp', () => new Float32Array(784_000_000_000));
      } catch (e) {
        return e;
      }
    })();
    const c = classifyError(err);
    expect(c.type).toBe('OutOfMemoryError');
    expect(c.message).toMatch(/^model mlp: cannot allocate memory \(RangeError: /);
  });

  test('transient errors pass through unwrapped (retried), and so does a cancellation', async () => {
    const reset = systemError('ECONNRESET', 'socket hang up');
    expect(
      await asPluginError(
        'quantizer gptq',
        () => ({}),
        () => Promise.reject(reset),
      ).catch((e: unknown) => e),
    ).toBe(reset);
    const cancelled = new CancelledFailure('cancelled');
    expect(
      await asPluginError(
        'trainer supervised',
        () => ({}),
        () => Promise.reject(cancelled),
      ).catch((e: unknown) => e),
    ).toBe(cancelled);
  });
});

describe('classifiedActivity: what leaves an activity', () => {
  const fail = (err: unknown, where = {}) =>
    classifiedActivity('trainTask', where, () => Promise.reject(err)).catch((e: unknown) => e as ApplicationFailure);

  test('a user error: a non-retryable ApplicationFailure of its type, with activity, plugin, task, step and fix in its details', async () => {
    const failure = await fail(new PluginError('trainer supervised', 'loss became NaN', { task: 2, step: 40 }), { task: 2 });
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: 'PluginError',
      nonRetryable: true,
      message: 'trainer supervised (task 2, step 40): loss became NaN',
    });
    expect(failure.details?.[0]).toEqual({
      activity: 'trainTask',
      type: 'PluginError',
      plugin: 'trainer supervised',
      task: 2,
      step: 40,
    } satisfies FailureDetails);
  });

  test('a transient error stays retryable; an unknown one too', async () => {
    expect(await fail(new ArtifactStoreError('s3 down'))).toMatchObject({ type: 'ArtifactStoreError', nonRetryable: false });
    expect(await fail(new Error('who knows'))).toMatchObject({ type: 'Error', nonRetryable: false });
  });

  test('a cancellation passes through: it is how pause and cancel hand back a checkpoint', async () => {
    const cancelled = new CancelledFailure('training task 0 cancelled');
    expect(await fail(cancelled)).toBe(cancelled);
  });
});
