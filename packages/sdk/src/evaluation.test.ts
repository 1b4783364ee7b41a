import { z } from 'zod';
import { describeEvaluationTasks, evaluatedTasks, evaluationTasksOf, type EvaluationTasks } from './evaluation';
import { SpecErrors } from './errors';
import { PluginRegistry } from './registry';

const stub = (kind: 'benchmark' | 'model' | 'trainer' | 'method' | 'evaluator', name: string) =>
  ({ kind, name, version: '0', description: '', configSchema: z.strictObject({}) }) as never;
const registry = new PluginRegistry([
  stub('benchmark', 'b'),
  stub('model', 'm'),
  stub('trainer', 't'),
  stub('method', 'naive'),
  stub('evaluator', 'accuracy'),
]);
const base = { name: 'x', benchmark: 'b', model: 'm', trainer: 't' };

/** The T x T pattern of a policy: which cells are evaluated, row t after task t. */
const pattern = (policy: EvaluationTasks, T: number, seed = 0) =>
  Array.from({ length: T }, (_, t) => {
    const tasks = new Set(evaluatedTasks(policy, t, T, seed));
    return Array.from({ length: T }, (_, j) => (tasks.has(j) ? 'x' : '.')).join('');
  });

describe('evaluation policies: the tasks evaluated after each task', () => {
  it('all, seen-and-next and { every: 2 } over 4 tasks', () => {
    expect(pattern('all', 4)).toEqual(['xxxx', 'xxxx', 'xxxx', 'xxxx']);
    expect(pattern('seen-and-next', 4)).toEqual(['xx..', 'xxx.', 'xxxx', 'xxxx']);
    // Full rows after every second task (tasks 1 and 3); the spine (task t and t+1) after the others.
    expect(pattern({ every: 2 }, 4)).toEqual(['xx..', 'xxxx', '..xx', 'xxxx']);
    expect(pattern({ every: 1 }, 4)).toEqual(pattern('all', 4));
    expect(pattern({ every: 3 }, 5)).toEqual(['xx...', '.xx..', 'xxxxx', '...xx', 'xxxxx']);
  });

  it('{ sample: 1 } over 4 tasks: the spine plus one earlier task, drawn from the seed', () => {
    const rows = pattern({ sample: 1 }, 4);
    expect(rows[0]).toBe('xx..');
    expect(rows[1]).toBe('xxx.'); // task 0 is the only earlier task
    expect(rows[2]).toMatch(/^(x\.|\.x)xx$/);
    expect(rows[3]).toBe('xxxx');
    expect(pattern({ sample: 0 }, 4)).toEqual(['xx..', '.xx.', '..xx', 'xxxx']);
  });

  it('{ sample: n } draws n distinct earlier tasks, the same ones for the same seed and task, others for others', () => {
    const draw = (t: number, seed: number) => evaluatedTasks({ sample: 8 }, t, 1000, seed);
    const tasks = draw(500, 3);
    expect(tasks).toHaveLength(10);
    expect(tasks.slice(-2)).toEqual([500, 501]);
    expect(new Set(tasks).size).toBe(10);
    expect(tasks.slice(0, 8).every((j) => Number.isInteger(j) && j >= 0 && j < 500)).toBe(true);
    expect(tasks).toEqual([...tasks].sort((a, b) => a - b));
    expect(draw(500, 3)).toEqual(tasks);
    expect(draw(500, 4)).not.toEqual(tasks);
    expect(draw(501, 3).slice(0, 8)).not.toEqual(tasks.slice(0, 8));
  });

  it('every policy evaluates the spine: task t, task t+1, and every task after the last', () => {
    const policies: EvaluationTasks[] = ['all', 'seen-and-next', { every: 1 }, { every: 4 }, { sample: 0 }, { sample: 3 }];
    for (const policy of policies)
      for (const T of [1, 2, 7])
        for (let t = 0; t < T; t++) {
          const tasks = evaluatedTasks(policy, t, T, 5);
          expect(tasks).toEqual(expect.arrayContaining(t === T - 1 ? Array.from({ length: T }, (_, j) => j) : [t, t + 1]));
        }
  });

  it('cost a task: T for all, t+2 for seen-and-next, n+2 for { sample: n } whatever T', () => {
    const cost = (policy: EvaluationTasks, t: number, T: number) => evaluatedTasks(policy, t, T, 0).length;
    expect(cost('all', 100, 1000)).toBe(1000);
    expect(cost('seen-and-next', 100, 1000)).toBe(102);
    expect(cost({ sample: 8 }, 900, 1000)).toBe(10);
    expect(cost({ sample: 8 }, 90, 100)).toBe(10);
  });

  it('refuses a task outside the run', () => {
    expect(() => evaluatedTasks('all', 4, 4, 0)).toThrow(/task 4 is not one of the run's 4 tasks \(0..3\)/);
  });
});

describe("the spec's evaluation field", () => {
  it('is optional: a spec without it validates without it and means all', () => {
    const spec = registry.validateSpec(base);
    expect('evaluation' in spec).toBe(false);
    expect(evaluationTasksOf(spec)).toBe('all');
    expect(evaluationTasksOf(registry.validateSpec({ ...base, evaluation: {} }))).toBe('all');
  });

  it('takes each policy shape', () => {
    for (const tasks of ['all', 'seen-and-next', { every: 10 }, { sample: 8 }, { sample: 0 }])
      expect(registry.validateSpec({ ...base, evaluation: { tasks } }).evaluation).toEqual({ tasks });
    expect([{ every: 10 }, { sample: 8 }, 'seen-and-next'].map((p) => describeEvaluationTasks(p as EvaluationTasks))).toEqual([
      'every 10',
      'sample 8',
      'seen-and-next',
    ]);
  });

  it('names the field at fault and the shapes it takes', () => {
    const messages = (evaluation: unknown) => {
      try {
        registry.validateSpec({ ...base, evaluation });
      } catch (err) {
        expect(err).toBeInstanceOf(SpecErrors);
        return (err as SpecErrors).errors.map((e) => e.message);
      }
      throw new Error('expected the spec to be refused');
    };
    expect(messages({ tasks: 'seen' })).toEqual([
      'evaluation.tasks: expected "all", "seen-and-next", { every: k } (k a whole number, at least 1) or { sample: n } (n a whole number, at least 0); got "seen"',
    ]);
    expect(messages({ tasks: { every: 0 } })).toEqual([expect.stringMatching(/^evaluation\.tasks\.every: at least 1/)]);
    expect(messages({ tasks: { every: 2, sample: 1 } })).toEqual([
      expect.stringMatching(/^evaluation\.tasks: expected .*got \{"every":2,"sample":1\}$/),
    ]);
    expect(messages({ tasks: { sample: 1.5 } })).toEqual([expect.stringMatching(/^evaluation\.tasks(\.sample)?: /)]);
    expect(messages({ policy: 'all' })).toEqual(['evaluation.policy: unknown field; the fields here are tasks']);
  });
});
