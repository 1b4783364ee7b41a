import type { TensorMap } from '@retain/engine';
import { namespace, Namespace } from './index';

const t = (v: number) => ({ dims: [1], data: Float32Array.of(v) });

describe('namespace', () => {
  it("builds a method's graph-input and state names under its own name", () => {
    const ewc = namespace('ewc');
    expect(ewc.inputs.name('weight', 'trunk.0.weight')).toBe('ewc.weight.trunk.0.weight');
    expect(ewc.inputs.sub(0).name('anchor', 'head.0.bias')).toBe('ewc.0.anchor.head.0.bias');
    expect(ewc.state.sub(3, 'fisher').name('trunk.0.weight')).toBe('ewc.3.fisher.trunk.0.weight');
    expect(ewc.state.sub(3).sub('fisher').path).toBe('ewc.3.fisher');
  });

  it('keeps unprefixed state keys where a method has always stored them so, inputs still under its name', () => {
    const si = namespace('si', { state: 'unprefixed' });
    expect(si.state.name('importance', 'trunk.0.weight')).toBe('importance.trunk.0.weight');
    expect(si.state.sub('anchor').name('trunk.0.weight')).toBe('anchor.trunk.0.weight');
    expect(si.inputs.name('omega', 'trunk.0.weight')).toBe('si.omega.trunk.0.weight');
    expect(si.state.path).toBe('');
  });

  it('gives the names every method has stored and fed so far (checkpoints and artifacts depend on them)', () => {
    const p = 'trunk.0.weight';
    const online = namespace('online-ewc', { state: 'unprefixed' });
    const replay = namespace('replay');
    const agem = namespace('agem');
    const lwf = namespace('lwf', { state: 'unprefixed' });
    const adaptive = namespace('adaptive-lr', { state: 'unprefixed' });
    expect([
      online.inputs.name('weight', p),
      online.state.sub('fisher').name(p),
      replay.state.name('seen'),
      replay.inputs.sub('mem').name('target', 1),
      replay.inputs.sub('mem').name('current-scale'),
      agem.state.sub('memory').name('x'),
      agem.inputs.name('y'),
      lwf.inputs.sub('old').name(p),
      lwf.state.sub('old').name(p),
      adaptive.inputs.sub('importance').name(p),
      adaptive.state.sub('fisher').name(p),
      namespace('joint').inputs.name('x'),
    ]).toEqual([
      'online-ewc.weight.trunk.0.weight',
      'fisher.trunk.0.weight',
      'replay.seen',
      'replay.mem.target.1',
      'replay.mem.current-scale',
      'agem.memory.x',
      'agem.y',
      'lwf.old.trunk.0.weight',
      'old.trunk.0.weight',
      'adaptive-lr.importance.trunk.0.weight',
      'fisher.trunk.0.weight',
      'joint.x',
    ]);
  });

  it('reads the tensors of one namespace, keyed by the rest of their names, and writes them back', () => {
    const state: TensorMap = {
      'ewc.0.fisher.a.weight': t(1),
      'ewc.0.anchor.a.weight': t(2),
      'ewc.1.fisher.a.weight': t(3),
      'ewc.10.fisher.b': t(4),
    };
    const fisher0 = new Namespace(['ewc', 0, 'fisher']);
    expect(fisher0.read(state)).toEqual({ 'a.weight': t(1) });
    // 'ewc.1.' must not match 'ewc.10.': the prefix ends with its dot.
    expect(new Namespace(['ewc', 1]).read(state)).toEqual({ 'fisher.a.weight': t(3) });
    expect(fisher0.write(fisher0.read(state))).toEqual({ 'ewc.0.fisher.a.weight': t(1) });
    expect(fisher0.read(undefined)).toEqual({});
  });

  it('reads everything at the root and writes names unchanged', () => {
    const root = new Namespace();
    const tensors: TensorMap = { 'fisher.a': t(1), 'anchor.a': t(2) };
    expect(root.read(tensors)).toEqual(tensors);
    expect(Object.keys(root.write(tensors))).toEqual(['fisher.a', 'anchor.a']);
  });

  it('writes in the order it is given (state artifacts are stored in key order)', () => {
    const written = namespace('x').state.write({ b: t(1), a: t(2), c: t(3) });
    expect(Object.keys(written)).toEqual(['x.b', 'x.a', 'x.c']);
  });
});
