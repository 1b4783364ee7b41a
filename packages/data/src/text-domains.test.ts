import { gatherLabels } from './sample-set';
import { ScenarioConfigError } from './scenario';
import { loadDomainDocuments, packageInstalled, TEXT_DOMAIN_NAMES, TextDomainMissingError } from './text-corpus';
import { splitDocuments, textDomainsScenario, tokenStream, type TextDomainsConfig } from './text-domains';
import { TokenWindowSampleSet } from './token-windows';
import { byteTokenizer } from './tokenizer';

const small: TextDomainsConfig = {
  domains: ['licences', 'fortunes'],
  context: 16,
  pretrainTokens: 512,
  trainTokens: 320,
  validationTokens: 160,
  validationFraction: 0.2,
};

const samples = (set: { n: number; gather(i: number[]): Float32Array }) =>
  Array.from(set.gather(Array.from({ length: set.n }, (_, i) => i)));

describe('text domains (Debian packages)', () => {
  test('every domain reads documents of its installed packages', async () => {
    for (const name of TEXT_DOMAIN_NAMES) {
      const docs = await loadDomainDocuments(name);
      expect(docs.length).toBeGreaterThan(10);
      expect(new Set(docs.map((d) => d.id)).size).toBe(docs.length);
      expect(docs.every((d) => d.bytes.length > 0 && !d.bytes.includes(0))).toBe(true);
    }
    expect(await loadDomainDocuments('licences')).toBe(await loadDomainDocuments('licences'));
    const fortunes = await loadDomainDocuments('fortunes');
    expect(fortunes.every((d) => !/^%$/m.test(new TextDecoder().decode(d.bytes)))).toBe(true);
  });

  test('the split is by document, seeded: disjoint, complete, another seed another split', async () => {
    const docs = await loadDomainDocuments('manpages');
    const a = splitDocuments(docs, 0.1, 1, 'manpages');
    const ids = (ds: { id: string }[]) => ds.map((d) => d.id);
    const bytes = (ds: { bytes: Uint8Array }[]) => ds.reduce((n, d) => n + d.bytes.length, 0);
    // Validation holds 10% of the bytes: whole documents, the last one taking it past 10%.
    expect(bytes(a.validation)).toBeGreaterThanOrEqual(0.1 * bytes(docs));
    expect(bytes(a.validation.slice(0, -1))).toBeLessThan(0.1 * bytes(docs));
    expect(ids(a.validation).filter((id) => ids(a.train).includes(id))).toEqual([]);
    expect([...ids(a.train), ...ids(a.validation)].sort()).toEqual(ids(docs).sort());
    expect(ids(splitDocuments(docs, 0.1, 1, 'manpages').validation)).toEqual(ids(a.validation));
    expect(ids(splitDocuments(docs, 0.1, 2, 'manpages').validation)).not.toEqual(ids(a.validation));
  });

  test('task 0 mixes every domain; tasks 1..N are the domains in order; budgets in whole windows', async () => {
    const s = await textDomainsScenario(small, 7);
    expect(s).toMatchObject({
      tasks: 3,
      heads: 1,
      classesPerHead: 256,
      inputDims: [16],
      targetsPerSample: 16,
      taskNames: ['pretrain', 'licences', 'fortunes'],
    });
    const [pre, licences, fortunes] = [0, 1, 2].map((t) => s.task(t));
    expect([licences.train.n, fortunes.train.n]).toEqual([20, 20]); // 320 / 16
    expect([licences.test.n, fortunes.test.n]).toEqual([10, 10]); // 160 / 16
    expect(pre.train.n).toBe(2 * 16); // 512 / 2 domains / 16
    expect(pre.test.n).toBe(2 * 5); // 160 / 2 domains / 16
    expect(licences.train.labels.length).toBe(20 * 16);
    expect(licences.train.targetsPerSample).toBe(16);
    // Task 0's validation of each domain is the start of that domain's validation stream.
    expect(samples(pre.test).slice(0, 5 * 16)).toEqual(samples(licences.test).slice(0, 5 * 16));
  });

  test('labels are the inputs shifted by one token, windows do not overlap', async () => {
    const s = await textDomainsScenario(small, 7);
    const set = s.task(1).train;
    const x = set.gather([3, 4]);
    const y = gatherLabels(set, [3, 4]);
    expect(Array.from(y.subarray(0, 15))).toEqual(Array.from(x.subarray(1, 16)));
    expect(y[15]).toBe(x[16]); // the last label of window 3 is the first token of window 4
    const split = splitDocuments(await loadDomainDocuments('licences'), 0.2, 7, 'licences');
    const first = split.train[0].bytes;
    expect(Array.from(set.gather([0]))).toEqual(Array.from(first.subarray(0, 16)));
  });

  test('determinism: same config and seed, same samples; another seed, other samples', async () => {
    const a = await textDomainsScenario(small, 3);
    const b = await textDomainsScenario(small, 3);
    const c = await textDomainsScenario(small, 4);
    for (const t of [0, 1, 2]) {
      expect(samples(b.task(t).train)).toEqual(samples(a.task(t).train));
      expect(Array.from(b.task(t).test.labels)).toEqual(Array.from(a.task(t).test.labels));
    }
    expect(samples(c.task(2).test)).not.toEqual(samples(a.task(2).test));
  });

  test('pretraining and fine-tuning take different tokens of a domain', async () => {
    const s = await textDomainsScenario({ ...small, domains: ['fortunes'], pretrainTokens: 320 }, 5);
    const pre = samples(s.task(0).train);
    const train = samples(s.task(1).train);
    expect(pre.length).toBe(train.length);
    expect(pre).not.toEqual(train);
  });

  test('budgets larger than a domain, bad domains and budgets name the field', async () => {
    await expect(textDomainsScenario({ ...small, trainTokens: 10_000_000 }, 1)).rejects.toThrow(
      /^trainTokens: 'licences' has \d+ tokens in its \d+ training documents.*lower trainTokens/,
    );
    await expect(textDomainsScenario({ ...small, pretrainTokens: 20_000_000 }, 1)).rejects.toThrow(/^pretrainTokens: 'licences'/);
    await expect(textDomainsScenario({ ...small, validationTokens: 2_000_000 }, 1)).rejects.toThrow(/^validationTokens: 'licences' has/);
    await expect(textDomainsScenario({ ...small, domains: ['licences', 'poetry'] }, 1)).rejects.toThrow(
      /^domains\.1: no text domain 'poetry'; the domains are licences, manpages/,
    );
    await expect(textDomainsScenario({ ...small, domains: ['fortunes', 'fortunes'] }, 1)).rejects.toThrow(
      /^domains\.1: 'fortunes' is listed twice/,
    );
    await expect(textDomainsScenario({ ...small, trainTokens: 8 }, 1)).rejects.toThrow(ScenarioConfigError);
    await expect(textDomainsScenario({ ...small, trainTokens: 8 }, 1)).rejects.toThrow(/^trainTokens: 8 tokens per domain hold no window/);
  });

  test('a missing package is named with the apt-get command', () => {
    expect(packageInstalled('base-files')).toBe(true);
    expect(packageInstalled('retain-no-such-package')).toBe(false);
    // The failure type of a missing dataset, so the run fails at once and says why.
    expect(new TextDomainMissingError('fortunes', ['fortunes']).name).toBe('DatasetNotFoundError');
    expect(new TextDomainMissingError('fortunes', ['fortunes', 'fortunes-min']).message).toMatch(
      /'fortunes' needs the Debian packages fortunes, fortunes-min.*"apt-get install fortunes fortunes-min"/,
    );
  });

  test('token streams end each document with the end-of-document token', () => {
    const docs = [
      { id: 'a', bytes: new Uint8Array([65, 66]) },
      { id: 'b', bytes: new Uint8Array([67]) },
    ];
    expect(Array.from(tokenStream(docs, byteTokenizer, 4).tokens)).toEqual([65, 66, 0, 67]);
    expect(tokenStream(docs, byteTokenizer, 9)).toEqual({ tokens: new Int32Array([65, 66, 0, 67, 0]), available: 5 });
    const set = TokenWindowSampleSet.fromStream(new Int32Array([1, 2, 3, 4, 5]), 2, 2, 't');
    expect(Array.from(set.labels)).toEqual([2, 3, 4, 5]);
    expect(() => set.gather([2])).toThrow(/window 2.*outside 0\.\.1/);
  });
});
