import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRegistry } from '@retain/worker';
import { loadSpecFile, readSpecDocument } from './spec-file';
import { planSweep } from './sweep';

// Every spec under examples/ is what a new user runs first: each must validate against the
// registered plugins, so a renamed field or plugin breaks this test, not the user's first run.
const dir = join(__dirname, '..', '..', '..', 'examples');
const examples = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('examples/', () => {
  it('holds the examples the README lists', () => {
    expect(examples).toEqual(
      expect.arrayContaining(['permuted-fmnist-qat.yaml', 'split-fmnist-resnet.yaml', 'text-transformer.yaml', 'text-domains-lm.yaml']),
    );
  });

  test.each(examples)('%s validates and is named after its file', (file) => {
    const spec = loadSpecFile(join(dir, file), defaultRegistry());
    expect(`${spec.name}.yaml`).toBe(file);
  });
});

// The sweeps under examples/sweeps/ (docs/results is regenerated from them): every cell of each
// validates, so a renamed field breaks this test rather than an hour-long sweep at its start.
const sweepsDir = join(dir, 'sweeps');
const sweeps = readdirSync(sweepsDir).filter((f) => f.endsWith('.yaml'));

describe('examples/sweeps/', () => {
  it('holds the sweeps docs/results and the README name', () => {
    expect(sweeps.sort()).toEqual([
      'ewc-vs-replay.yaml',
      'language.yaml',
      'methods-permuted-fmnist.yaml',
      'methods-split-fmnist-class-il.yaml',
      'methods-split-fmnist-task-il.yaml',
      'mixed-precision-permuted-fmnist.yaml',
      'quantization-permuted-fmnist.yaml',
      'quantization-split-fmnist.yaml',
    ]);
  });

  test.each(sweeps)('%s: every cell validates, and the sweep is named after its file', (file) => {
    const { spec, cells } = planSweep(readSpecDocument(join(sweepsDir, file)), defaultRegistry(), 'example');
    expect(`${spec.name}.yaml`).toBe(file);
    expect(new Set(cells.map((c) => c.seed))).toEqual(new Set([0, 1, 2]));
    expect(cells.length).toBe(
      {
        'ewc-vs-replay.yaml': 12,
        'methods-permuted-fmnist.yaml': 33,
        'methods-split-fmnist-task-il.yaml': 36,
        'methods-split-fmnist-class-il.yaml': 36,
        'mixed-precision-permuted-fmnist.yaml': 3,
        'language.yaml': 21,
      }[file] ?? 18,
    );
  });

  it('the methods sweeps run A-GEM with plain SGD (momentum 0, lr 0.01) beside the standard profile', () => {
    const { cells } = planSweep(readSpecDocument(join(sweepsDir, 'methods-split-fmnist-class-il.yaml')), defaultRegistry(), 'example');
    const trainer = (group: string) => cells.find((c) => c.group.split(' ')[0] === group)!.spec.trainer.config;
    expect(trainer('agem-sgd')).toMatchObject({ lr: 0.01, optimizer: { name: 'sgd', momentum: 0 } });
    expect(trainer('agem')).toMatchObject({ lr: 0.01, optimizer: { name: 'sgd', momentum: 0.9 } });
  });
});

// Published protocols (issue 18): examples/sweeps/protocols/, each a paper's setting on Fashion-MNIST.
const protocolsDir = join(sweepsDir, 'protocols');

describe('examples/sweeps/protocols/', () => {
  it("agem-permuted.yaml: the A-GEM paper's permuted setting, every cell valid", () => {
    const { spec, cells } = planSweep(readSpecDocument(join(protocolsDir, 'agem-permuted.yaml')), defaultRegistry(), 'example');
    expect(spec.name).toBe('agem-permuted');
    expect(cells.length).toBe(7 * 3);
    expect(new Set(cells.map((c) => c.seed))).toEqual(new Set([0, 1, 2]));
    const cell = (group: string) => cells.find((c) => c.group.split(' ')[0] === group)!.spec;
    // 17 tasks of 1,000 samples, one epoch, batch 10, plain SGD lr 0.03, MLP 2 x 256, 250 memories a task.
    expect(cell('naive').benchmark.config).toMatchObject({ tasks: 17, trainPerTask: 1000 });
    expect(cell('naive').trainer.config).toMatchObject({ epochs: 1, batchSize: 10, lr: 0.03, optimizer: { name: 'sgd', momentum: 0 } });
    expect(cell('naive').model.config).toMatchObject({ hidden: [256, 256] });
    expect(cell('agem').method.config).toMatchObject({ memorySize: 17 * 250 });
    expect(cell('replay').method.config).toMatchObject({ bufferSize: 17 * 250 });
    expect(cell('joint-union').method.config).toEqual({ epochsOver: 'union' });
    expect(cell('ewc').method.config).toMatchObject({ lambda: 10 });
  });

  it('hsu-split.yaml: Hsu et al. 2018, 9 methods in each of the three scenarios, their coefficients per scenario', () => {
    const { spec, cells } = planSweep(readSpecDocument(join(protocolsDir, 'hsu-split.yaml')), defaultRegistry(), 'example');
    expect(spec.name).toBe('hsu-split');
    expect(cells.length).toBe(9 * 3 * 3);
    const cell = (group: string) => cells.find((c) => c.group.split(' ')[0] === group)!.spec;
    // MLP400, Adam lr 0.001, batch 128, 4 epochs; SGD and A-GEM at lr 0.01 without momentum.
    expect(cell('class-il.adam').model.config).toMatchObject({ hidden: [400, 400] });
    expect(cell('class-il.adam').trainer.config).toMatchObject({ epochs: 4, batchSize: 128, lr: 0.001, optimizer: { name: 'adam' } });
    expect(cell('domain-il.sgd').trainer.config).toMatchObject({
      epochs: 4,
      batchSize: 128,
      lr: 0.01,
      optimizer: { name: 'sgd', momentum: 0 },
    });
    expect(cell('task-il.agem-1100').trainer.config).toMatchObject({ epochs: 4, lr: 0.01, optimizer: { momentum: 0 } });
    for (const mode of ['task-il', 'domain-il', 'class-il']) expect(cell(`${mode}.ewc`).benchmark.config).toMatchObject({ mode, tasks: 5 });
    // Their reg_coef multiplies sum F d^2, our lambda/2 does: lambda = 2 reg_coef.
    expect([cell('task-il.ewc'), cell('domain-il.ewc'), cell('class-il.ewc')].map((s) => s.method.config)).toMatchObject([
      { lambda: 200 },
      { lambda: 200 },
      { lambda: 1200 },
    ]);
  });

  it('vandeven-split.yaml: van de Ven & Tolias 2019, 7 methods in each scenario, 2,000 Adam steps a task', () => {
    const { spec, cells } = planSweep(readSpecDocument(join(protocolsDir, 'vandeven-split.yaml')), defaultRegistry(), 'example');
    expect(spec.name).toBe('vandeven-split');
    expect(cells.length).toBe(7 * 3 * 3);
    const cell = (group: string) => cells.find((c) => c.group.split(' ')[0] === group)!.spec;
    expect(cell('class-il.none').trainer.config).toMatchObject({ steps: 2000, batchSize: 128, lr: 0.001, optimizer: { name: 'adam' } });
    expect(cell('domain-il.ewc').method.config).toMatchObject({ lambda: 1e10 });
    expect(cell('class-il.si').method.config).toMatchObject({ c: 5000 });
  });
});

// examples/sweeps/options/: twins that differ in one method option, run to compare it (`retain compare`
// matches their groups by key, so both files must give the same keys).
const optionsDir = join(sweepsDir, 'options');
const twins: Array<[string, string, string]> = [
  ['sampling-permuted-fmnist-with-replacement.yaml', 'sampling-permuted-fmnist-cycle.yaml', 'sampling'],
  ['sampling-split-fmnist-class-il-with-replacement.yaml', 'sampling-split-fmnist-class-il-cycle.yaml', 'sampling'],
  ['fisher-permuted-fmnist-500.yaml', 'fisher-permuted-fmnist-all.yaml', 'fisherSamples'],
];

describe('examples/sweeps/options/', () => {
  it('holds the twins the methods READMEs name', () => {
    expect(readdirSync(optionsDir).sort()).toEqual(twins.flatMap(([a, b]) => [a, b]).sort());
  });

  test.each(twins)('%s and %s: same groups and seeds, every cell differing in method.config.%s only', (a, b, option) => {
    const plan = (file: string) => planSweep(readSpecDocument(join(optionsDir, file)), defaultRegistry(), 'example');
    const [left, right] = [plan(a), plan(b)];
    expect(`${left.spec.name}.yaml`).toBe(a);
    expect(`${right.spec.name}.yaml`).toBe(b);
    expect(right.cells.map((c) => [c.group, c.seed])).toEqual(left.cells.map((c) => [c.group, c.seed]));
    left.cells.forEach((cell, i) => {
      const other = right.cells[i].spec;
      expect(other.method.config[option]).not.toEqual(cell.spec.method.config[option]);
      const { [option]: _mine, ...mine } = cell.spec.method.config;
      const { [option]: _theirs, ...theirs } = other.method.config;
      expect({ ...other, name: cell.spec.name, description: cell.spec.description, method: { ...other.method, config: theirs } }).toEqual({
        ...cell.spec,
        method: { ...cell.spec.method, config: mine },
      });
    });
  });
});
