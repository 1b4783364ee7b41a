import { methodFisherOf } from './method-fisher';

const params = [
  { name: 'trunk.0.weight', dims: [2, 2] },
  { name: 'trunk.0.bias', dims: [2] },
];
const t = (...data: number[]) => ({ dims: data.length === 4 ? [2, 2] : [2], data: Float32Array.from(data) });

describe('methodFisherOf', () => {
  test("EWC's per-task Fishers are summed per parameter; anchors are not Fishers", () => {
    const state = {
      'ewc.0.fisher.trunk.0.weight': t(1, 2, 3, 4),
      'ewc.1.fisher.trunk.0.weight': t(10, 20, 30, 40),
      'ewc.0.anchor.trunk.0.weight': t(100, 100, 100, 100),
      'ewc.0.fisher.trunk.0.bias': t(5, 6),
    };
    const fisher = methodFisherOf(state, params)!;
    expect(Array.from(fisher['trunk.0.weight'].data)).toEqual([11, 22, 33, 44]);
    expect(Array.from(fisher['trunk.0.bias'].data)).toEqual([5, 6]);
  });

  test("online EWC's running Fisher is read as it is; a state without one gives undefined", () => {
    const fisher = methodFisherOf({ 'fisher.trunk.0.bias': t(1, 2), 'anchor.trunk.0.bias': t(3, 4) }, params)!;
    expect(Object.keys(fisher)).toEqual(['trunk.0.bias']);
    expect(methodFisherOf({ 'si.omega.trunk.0.bias': t(1, 2) }, params)).toBeUndefined();
  });

  test('a Fisher whose dims differ from its parameter is refused, naming both', () => {
    expect(() => methodFisherOf({ 'fisher.trunk.0.weight': t(1, 2) }, params)).toThrow(
      "method state 'fisher.trunk.0.weight': dims [2] differ from parameter 'trunk.0.weight' [2, 2]",
    );
  });
});
