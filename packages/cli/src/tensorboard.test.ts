import { eventFile, eventFileName, EVENT_FILE_VERSION, maskedCrc32c, readEventFile, tfRecord } from './tensorboard';
import { runScalars, type RunNumbers } from './tracker-scalars';

describe('TensorBoard event files', () => {
  it('masks CRC-32C as TFRecord does', () => {
    // The value TensorBoard's own masked_crc32c (tensorboard.compat.tensorflow_stub.pywrap_tensorflow)
    // gives for the standard check input, whose plain CRC-32C is 0xe3069283.
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(0xc78ab0e5);
  });

  it('frames a record: length, masked CRC of the length, data, masked CRC of the data', () => {
    const record = tfRecord(Buffer.from('abc'));
    expect(record.length).toBe(8 + 4 + 3 + 4);
    expect(record.readBigUInt64LE(0)).toBe(3n);
    expect(record.readUInt32LE(8)).toBe(maskedCrc32c(record.subarray(0, 8)));
    expect(record.subarray(12, 15).toString()).toBe('abc');
    expect(record.readUInt32LE(15)).toBe(maskedCrc32c(Buffer.from('abc')));
  });

  it('writes the version event, then one event per step; zeros and negatives survive, values as float32', () => {
    const bytes = eventFile(
      [
        { tag: 'b', step: 1, value: -0.125 },
        { tag: 'a', step: 0, value: 0 },
        { tag: 'a', step: 1, value: 0.1 },
      ],
      (step) => 1000 + step,
    );
    const events = readEventFile(bytes);
    expect(events).toEqual([
      { wallTime: 1000, step: 0, fileVersion: EVENT_FILE_VERSION, scalars: [] },
      { wallTime: 1000, step: 0, scalars: [{ tag: 'a', step: 0, value: 0 }] },
      {
        wallTime: 1001,
        step: 1,
        scalars: [
          { tag: 'b', step: 1, value: -0.125 },
          { tag: 'a', step: 1, value: Math.fround(0.1) },
        ],
      },
    ]);
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 6] ^= 1;
    expect(() => readEventFile(corrupt)).toThrow(/bad data CRC/);
    expect(eventFileName(1700000000.7)).toBe('events.out.tfevents.1700000000.retain');
  });
});

describe('runScalars', () => {
  const run: RunNumbers = {
    tasks: ['t0', 't1'],
    matrices: {
      fp32: [
        [0.9, null],
        [0.8, 0.95],
      ],
      'rtn-int4': [
        [0.85, 0.1],
        [0.7, 0.9],
      ],
    },
    metrics: {
      fp32: { acc: 0.875, bwt: -0.1, fwt: null, forgetting: 0.1 },
      'rtn-int4': { acc: 0.8, bwt: -0.15, fwt: 0, forgetting: 0.15 },
    },
    quantization: {
      'rtn-int4': {
        accGap: 0.075,
        meanGap: 0.05,
        quantizationInducedForgetting: 0.05,
        bucketCrossingRate: [null, 0.3],
        fixedGridCrossingRate: [null, 0.2],
        bytes: [100, 100],
      },
    },
    training: [
      { steps: 8, samples: 500, seconds: 0.5, finalLoss: 1.5, samplesPerSec: 1000 },
      { steps: 8, samples: 500, seconds: 0.25, finalLoss: 1.2, samplesPerSec: 2000 },
    ],
  };

  it('every evaluated cell per step and model, the metrics at the last step, nothing for null', () => {
    const scalars = runScalars(run);
    const at = (tag: string) => scalars.filter((s) => s.tag === tag).map((s) => [s.step, s.value]);
    expect(at('accuracy/fp32/t0')).toEqual([
      [0, 0.9],
      [1, 0.8],
    ]);
    expect(at('accuracy/fp32/t1')).toEqual([[1, 0.95]]); // R[0][1] was not evaluated
    expect(at('accuracy/rtn-int4/t1')).toEqual([
      [0, 0.1],
      [1, 0.9],
    ]);
    expect(at('metrics/fp32/acc')).toEqual([[1, 0.875]]);
    expect(at('metrics/fp32/fwt')).toEqual([]);
    expect(at('metrics/rtn-int4/fwt')).toEqual([[1, 0]]);
    expect(at('quantization/rtn-int4/qif')).toEqual([[1, 0.05]]);
    expect(at('quantization/rtn-int4/bucket_crossing_rate')).toEqual([[1, 0.3]]);
    expect(at('quantization/rtn-int4/fixed_grid_crossing_rate')).toEqual([[1, 0.2]]);
    expect(at('training/final_loss')).toEqual([
      [0, 1.5],
      [1, 1.2],
    ]);
    // No tag repeats at a step.
    expect(new Set(scalars.map((s) => `${s.tag}@${s.step}`)).size).toBe(scalars.length);
  });

  it('names tasks by index when their names repeat', () => {
    const tags = runScalars({ ...run, tasks: ['x', 'x'] }).map((s) => s.tag);
    expect(tags).toContain('accuracy/fp32/task-1');
    expect(tags).not.toContain('accuracy/fp32/x');
  });
});
