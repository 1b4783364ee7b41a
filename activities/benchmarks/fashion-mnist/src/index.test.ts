import { permutedFashionMnist, splitFashionMnist } from './index';

describe('Fashion-MNIST benchmark plugins (real dataset)', () => {
  it('permuted-fmnist: one shared 10-class head, the number of tasks asked for', async () => {
    const scenario = await permutedFashionMnist.scenario(permutedFashionMnist.configSchema.parse({ tasks: 3, testPerTask: 100 }), 0);
    expect(scenario.tasks).toBe(3);
    expect(scenario.heads).toBe(1);
    expect(scenario.classesPerHead).toBe(10);
    expect(scenario.task(2).test.n).toBe(100);
    expect(scenario.task(0).train.n).toBe(60000);
  });

  it('split-fmnist task-il: a 2-class head per task with task-local labels', async () => {
    const scenario = await splitFashionMnist.scenario(splitFashionMnist.configSchema.parse({ tasks: 5, mode: 'task-il' }), 0);
    expect(scenario.heads).toBe(5);
    expect(scenario.classesPerHead).toBe(2);
    const task = scenario.task(1);
    expect(new Set(task.train.labels)).toEqual(new Set([0, 1]));
    expect(task.classes).toHaveLength(2);
  });

  it('split-fmnist class-il: one head over all classes, global labels', async () => {
    const scenario = await splitFashionMnist.scenario(splitFashionMnist.configSchema.parse({ tasks: 5, mode: 'class-il' }), 0);
    expect(scenario.heads).toBe(1);
    expect(scenario.classesPerHead).toBe(10);
    const task = scenario.task(3);
    expect(new Set(task.test.labels)).toEqual(new Set(task.classes));
  });
});
