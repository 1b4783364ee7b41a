import { DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, type ExperimentSpec } from '@retain/sdk';
import { activityOptions, runPriority, runTaskQueues, specQueues } from './policies';

const spec = {
  name: 'policies',
  seed: 0,
  benchmark: { name: 'stand-in', config: {} },
  model: { name: 'stand-in', config: {} },
  trainer: { name: 'stand-in', config: {} },
  method: { name: 'naive', config: {} },
  quantizers: [],
  evaluators: [],
  execution: { taskQueue: 'gpu' },
} satisfies ExperimentSpec;

describe('activity options', () => {
  it("use the spec's heartbeat timeout and task queue for every activity, 4 s when the spec sets none", () => {
    expect(DEFAULT_HEARTBEAT_TIMEOUT_SECONDS).toBe(4);
    for (const options of Object.values(activityOptions(spec))) {
      expect(options).toMatchObject({ heartbeatTimeout: '4 seconds', taskQueue: 'gpu' });
    }
    const slow = activityOptions({ ...spec, execution: { taskQueue: 'gpu', heartbeatTimeoutSeconds: 30 } });
    for (const options of Object.values(slow)) expect(options.heartbeatTimeout).toBe('30 seconds');
  });
});

describe('task queues by kind of work', () => {
  const queueOf = (s: ExperimentSpec) => Object.fromEntries(Object.entries(activityOptions(s)).map(([policy, o]) => [policy, o.taskQueue]));

  it('send every activity to execution.taskQueue when the spec routes nothing', () => {
    expect(queueOf(spec)).toEqual({ prepare: 'gpu', train: 'gpu', finishTask: 'gpu', finishRun: 'gpu' });
    expect(runTaskQueues(spec)).toEqual(['gpu']);
  });

  it('send trainTask to queues.train and startRun, finishTask, finishRun to queues.finish', () => {
    const routed = { ...spec, execution: { taskQueue: 'wf', queues: { train: 'gpu', finish: 'cpu' } } };
    expect(queueOf(routed)).toEqual({ prepare: 'cpu', train: 'gpu', finishTask: 'cpu', finishRun: 'cpu' });
    expect(specQueues(routed)).toEqual({ workflow: 'wf', train: 'gpu', finish: 'cpu' });
    expect(runTaskQueues(routed)).toEqual(['wf', 'gpu', 'cpu']);
  });

  it('fill an absent kind with execution.taskQueue, and list each queue once', () => {
    const trainOnly = { ...spec, execution: { taskQueue: 'cpu', queues: { train: 'gpu' } } };
    expect(queueOf(trainOnly)).toEqual({ prepare: 'cpu', train: 'gpu', finishTask: 'cpu', finishRun: 'cpu' });
    expect(runTaskQueues(trainOnly)).toEqual(['cpu', 'gpu']);
  });
});

describe('priority', () => {
  it("passes execution.priority to every activity as Temporal's priority key", () => {
    const urgent = { ...spec, execution: { taskQueue: 'gpu', priority: 1 } };
    expect(runPriority(urgent)).toEqual({ priorityKey: 1 });
    for (const options of Object.values(activityOptions(urgent))) expect(options.priority).toEqual({ priorityKey: 1 });
  });

  it('sends no priority at all when the spec has none (options as before, so replay and results are unchanged)', () => {
    expect(runPriority(spec)).toBeUndefined();
    for (const options of Object.values(activityOptions(spec))) expect('priority' in options).toBe(false);
  });
});
