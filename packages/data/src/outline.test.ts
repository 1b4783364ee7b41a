import { permutedConfigSchema, splitConfigSchema } from './config';
import { permutedOutline, splitOutline, textOutline } from './outline';
import { permutedScenario } from './permuted';
import { scenarioInfo } from './scenario';
import { splitScenario } from './split';
import { textScenario } from './text';

/** An outline is what the scenario built from the data turns out to be, without reading the data. */
describe('scenario outlines', () => {
  it('permuted: the shape and the per-task sizes the scenario has', async () => {
    const config = permutedConfigSchema.parse({ tasks: 3, testPerTask: 500 });
    const { outline, problems } = permutedOutline(config);
    const scenario = await permutedScenario(config, 1);
    expect(problems).toEqual([]);
    expect(scenarioInfo(outline)).toEqual(scenarioInfo(scenario));
    expect([outline.trainPerTask, outline.testPerTask]).toEqual([scenario.task(2).train.n, scenario.task(2).test.n]);
  });

  it.each(['task-il', 'domain-il', 'class-il'] as const)('split %s: the shape and every task the size of the scenario', async (mode) => {
    const config = splitConfigSchema.parse({ tasks: 5, mode });
    const { outline, problems } = splitOutline(config);
    const scenario = await splitScenario(config, 1);
    expect(problems).toEqual([]);
    expect(scenarioInfo(outline)).toEqual(scenarioInfo(scenario));
    for (let t = 0; t < 5; t++) {
      expect([scenario.task(t).train.n, scenario.task(t).test.n]).toEqual([outline.trainPerTask, outline.testPerTask]);
    }
  });

  it('refuses what the data cannot give, as the scenario would, naming the field', async () => {
    const config = splitConfigSchema.parse({ tasks: 5, trainPerTask: 12001 });
    expect(splitOutline(config).problems).toEqual([
      {
        field: 'trainPerTask',
        problem: '12001 samples asked for, but a task of 2 classes has only 12000; lower it or leave it unset to use all',
      },
    ]);
    await expect(splitScenario(config, 1)).rejects.toThrow(/asked for 12001 samples but only 12000 exist/);
  });

  it('text: the shape and the largest task the scenario has; bad source names and missing files named', async () => {
    const config = { sources: ['GPL-3', 'Apache-2.0'], context: 16, testFraction: 0.1, heads: 'per-task' as const };
    const { outline, problems } = textOutline(config);
    const scenario = await textScenario(config);
    expect(problems).toEqual([]);
    expect(scenarioInfo(outline)).toEqual(scenarioInfo(scenario));
    expect(outline.trainPerTask).toBe(Math.max(scenario.task(0).train.n, scenario.task(1).train.n));
    expect(outline.testPerTask).toBe(Math.max(scenario.task(0).test.n, scenario.task(1).test.n));
    expect(textOutline({ ...config, sources: ['../GPL-3', 'nope'] }).problems.map((p) => p.field)).toEqual(['sources.0', 'sources.1']);
  });
});
