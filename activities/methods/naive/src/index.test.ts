import type { MethodPlugin } from '@retain/sdk';
import { naiveMethod as plugin } from './index';

const naiveMethod: MethodPlugin = plugin;

describe('naive method', () => {
  it('adds nothing to training and keeps no state between tasks', () => {
    expect(naiveMethod.training?.({} as never)).toEqual({});
    expect(naiveMethod.afterTask).toBeUndefined();
  });

  it('takes no parameters: an unknown one is an error', () => {
    expect(naiveMethod.configSchema.parse({})).toEqual({});
    expect(naiveMethod.configSchema.safeParse({ lambda: 1 }).success).toBe(false);
  });
});
