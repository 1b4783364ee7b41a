import { DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, type ExperimentSpec } from '@retain/sdk';
import { activityOptions } from './policies';

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
