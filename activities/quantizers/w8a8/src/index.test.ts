import { calibrateActivation } from '@retain/engine';
import { w8a8Quantizer } from './index';

describe('w8a8 quantizer', () => {
  it('min-max calibration spans every value and keeps zero exact', () => {
    const a = calibrateActivation(new Float32Array([0, 0.5, 2.55, 1]), 'minmax', 100, false);
    expect(a.scale).toBeCloseTo(2.55 / 255, 7);
    expect(a.zeroPoint).toBe(0);
    const b = calibrateActivation(new Float32Array([-1, 0, 1, 3]), 'minmax', 100, false);
    expect(b.scale).toBeCloseTo(4 / 255, 7);
    expect(b.zeroPoint).toBe(Math.round(1 / (4 / 255)));
  });

  it('percentile calibration clips a rare outlier that min-max has to cover', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i === 999 ? 100 : (i % 10) / 10));
    const minmax = calibrateActivation(values, 'minmax', 100, false);
    const percentile = calibrateActivation(values, 'percentile', 99.9, false);
    expect(minmax.scale).toBeCloseTo(100 / 255, 6);
    expect(percentile.scale).toBeCloseTo(0.9 / 255, 6); // the 99.9th percentile is 0.9
  });

  it('defaults to min-max uint8 activations over int8 per-channel weights, labelled w8a8', () => {
    const config = w8a8Quantizer.configSchema.parse({});
    expect(config).toMatchObject({ bits: 8, granularity: 'per-channel', symmetric: true, calibration: 'minmax', signedActivations: false });
    expect(w8a8Quantizer.label!(config)).toBe('w8a8');
    expect(w8a8Quantizer.label!(w8a8Quantizer.configSchema.parse({ calibration: 'percentile', percentile: 99.99 }))).toBe('w8a8-p99.99');
    expect(w8a8Quantizer.configSchema.safeParse({ notAParameter: 1 }).success).toBe(false);
  });
});
