import { bucketCrossingRate, formatQuantizationTable, quantizationInducedForgetting, quantizationMetrics } from './index';

describe('quantization metrics on hand-made inputs', () => {
  const fp32 = [
    [0.8, 0.3],
    [0.6, 0.9],
  ]; // forgetting 0.2
  const int4 = [
    [0.7, 0.3],
    [0.4, 0.85],
  ]; // forgetting 0.3

  it('quantization-induced forgetting is quantized forgetting minus fp32 forgetting', () => {
    expect(quantizationInducedForgetting(fp32, int4)).toBeCloseTo(0.1, 12);
    expect(quantizationInducedForgetting(int4, fp32)).toBeCloseTo(-0.1, 12); // quantization hiding forgetting reads negative
    expect(quantizationInducedForgetting([[0.5]], [[0.4]])).toBeNull();
  });

  it('bucket-crossing rate counts the codes that changed between two weight sets', () => {
    // 8 weights; between tasks two codes moved by one bucket and one by two; the rest stayed.
    const before = new Int8Array([3, -2, 0, 7, -7, 1, 1, 0]);
    const after = new Int8Array([3, -1, 0, 7, -5, 1, 2, 0]);
    expect(bucketCrossingRate(before, after)).toBe(3 / 8);
    expect(bucketCrossingRate(before, before)).toBe(0);
  });

  it('bucket-crossing rate refuses code arrays of different sizes', () => {
    expect(() => bucketCrossingRate([1, 2], [1])).toThrow(/same length; got 2 and 1 codes/);
  });

  it('gathers gaps, QIF, crossing rates and bytes, and formats them as one row per quantizer', () => {
    const m = quantizationMetrics(fp32, int4, [{ bytes: 1000 }, { bytes: 1000, bucketCrossingRate: 0.25, fixedGridCrossingRate: 0.125 }]);
    expect(m.accGap).toBeCloseTo(0.75 - 0.625, 12);
    expect(m.meanGap).toBeCloseTo((0.1 + 0 + 0.2 + 0.05) / 4, 12);
    expect(m.quantizationInducedForgetting).toBeCloseTo(0.1, 12);
    expect(m.bucketCrossingRate).toEqual([null, 0.25]);
    expect(m.fixedGridCrossingRate).toEqual([null, 0.125]);
    expect(formatQuantizationTable({ 'rtn-int4': m }).split('\n')).toEqual([
      'quantizer  ACC gap  mean gap      QIF  crossing  fixed-grid crossing  bytes',
      'rtn-int4   +0.1250   +0.0875  +0.1000    0.2500               0.1250   1000',
    ]);
  });

  it('shows n/a for the fixed-grid crossing of results written before Retain reported it', () => {
    const { fixedGridCrossingRate: _dropped, ...older } = quantizationMetrics(fp32, int4, [
      { bytes: 1000 },
      { bytes: 1000, bucketCrossingRate: 0.25 },
    ]);
    expect(formatQuantizationTable({ 'rtn-int4': older }).split('\n')[1]).toMatch(/0\.2500\s+n\/a\s+1000$/);
  });

  it('refuses one model size per task too few', () => {
    expect(() => quantizationMetrics(fp32, int4, [{ bytes: 1 }])).toThrow(/1 quantized models for 2 tasks/);
  });
});
