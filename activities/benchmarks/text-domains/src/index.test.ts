import { gatherLabels } from '@retain/data';
import { textDomains, textDomainsConfigSchema } from './index';

const tiny = { domains: ['fortunes', 'licences'], context: 8, pretrainTokens: 128, trainTokens: 64, validationTokens: 32 };

describe('text-domains benchmark plugin (Debian text domains)', () => {
  it('task 0 pretrains on the mixture, then one task per domain; context labels per sample; one 256-way head', async () => {
    const scenario = await textDomains.scenario(textDomainsConfigSchema.parse(tiny), 1);
    expect(scenario).toMatchObject({
      tasks: 3,
      heads: 1,
      classesPerHead: 256,
      inputDims: [8],
      targetsPerSample: 8,
      taskNames: ['pretrain', 'fortunes', 'licences'],
    });
    const task = scenario.task(2);
    expect([task.train.n, task.test.n, scenario.task(0).train.n]).toEqual([8, 4, 16]);
    const x = task.train.gather([0]);
    expect(Array.from(gatherLabels(task.train, [0]).subarray(0, 7))).toEqual(Array.from(x.subarray(1)));
  });

  it('defaults to every domain; the outline tells the shape without reading a document', () => {
    const config = textDomainsConfigSchema.parse({});
    expect(config).toMatchObject({
      domains: ['licences', 'manpages', 'python-docs', 'c-headers', 'fortunes'],
      context: 64,
      tokenizer: 'bytes',
    });
    const { outline, problems } = textDomains.outline(textDomainsConfigSchema.parse(tiny));
    expect(problems).toEqual([]);
    expect(outline).toMatchObject({ tasks: 3, classesPerHead: 256, targetsPerSample: 8, trainPerTask: 16, testPerTask: 4 });
    expect(outline.datasetBytes).toBeGreaterThan(2_000_000); // the fortunes and licences files
  });

  it('tokenizer bpe: a head of `vocabulary` classes (default 4096), in the outline too', async () => {
    const config = textDomainsConfigSchema.parse({ ...tiny, tokenizer: 'bpe', vocabulary: 300 });
    expect(textDomains.outline(config).outline.classesPerHead).toBe(300);
    expect(textDomains.outline(textDomainsConfigSchema.parse({ ...tiny, tokenizer: 'bpe' })).outline.classesPerHead).toBe(4096);
    const scenario = await textDomains.scenario(config, 1);
    expect(scenario.classesPerHead).toBe(300);
    expect(scenario.task(1).train.labels.every((l) => l >= 0 && l < 300)).toBe(true);
  });

  it('errors name the field: unknown or repeated domains, budgets under one window', () => {
    const issues = (config: unknown) => {
      const r = textDomainsConfigSchema.safeParse(config);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ domains: ['licences', 'poetry'] })).toEqual([expect.stringMatching(/^domains\.1: /)]);
    expect(issues({ domains: ['licences', 'licences'] })).toEqual(["domains.1: 'licences' is listed twice; each domain is one task"]);
    expect(issues({ domains: [] })).toEqual([expect.stringMatching(/^domains: /)]);
    expect(issues({ context: 0 })).toEqual([expect.stringMatching(/^context: /)]);
    expect(issues({ tokens: 5 })).toEqual([expect.stringMatching(/tokens/)]);
    expect(issues({ vocabulary: 512 })).toEqual(['vocabulary: vocabulary is for tokenizer: bpe only; remove it or set tokenizer: bpe']);
    expect(issues({ tokenizer: 'bpe', vocabulary: 60_000 })).toEqual(['vocabulary: 60000 is more than the 50257 ids of gpt2']);
    expect(issues({ tokenizer: 'bpe', encoding: 'cl100k_base', vocabulary: 60_000 })).toEqual([]);
    const { problems } = textDomains.outline(textDomainsConfigSchema.parse({ ...tiny, trainTokens: 4 }));
    expect(problems).toEqual([{ field: 'trainTokens', problem: expect.stringMatching(/^4 tokens per domain hold no window of 8 tokens/) }]);
  });
});
