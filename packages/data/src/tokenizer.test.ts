import { textDomainsScenario } from './text-domains';
import { BPE_ENCODINGS, bpeTokenizer, bpeVocabulary, byteTokenizer, fitVocabulary, FITTED_UNKNOWN } from './tokenizer';

describe('tokenizers', () => {
  test('bytes: a token per byte', () => {
    expect(Array.from(byteTokenizer.encode(new TextEncoder().encode('Hi')))).toEqual([72, 105]);
    expect([byteTokenizer.vocabulary, byteTokenizer.endOfDocument]).toEqual([256, 0]);
  });

  test("bpe: js-tiktoken's GPT-2 ranks; special-token text is plain text; the id counts match the ranks", async () => {
    const gpt2 = await bpeTokenizer('gpt2');
    expect(await bpeTokenizer('gpt2')).toBe(gpt2);
    expect(Array.from(gpt2.encode(new TextEncoder().encode('hello world')))).toEqual([31373, 995]);
    expect(Array.from(gpt2.encode(new TextEncoder().encode('<|endoftext|>')))).not.toContain(50256);
    expect([gpt2.vocabulary, gpt2.endOfDocument]).toEqual([50257, 50256]);
    for (const encoding of BPE_ENCODINGS) {
      const { default: ranks } = await (encoding === 'gpt2' ? import('js-tiktoken/ranks/gpt2') : import('js-tiktoken/ranks/cl100k_base'));
      expect(bpeVocabulary(encoding)).toBe(Math.max(...Object.values(ranks.special_tokens)) + 1);
    }
  });

  test('fitVocabulary keeps the most frequent ids (ties to the lower id), end of document 0, the rest unknown', () => {
    const tokenizer = { ...byteTokenizer, vocabulary: 10, endOfDocument: 9 };
    const table = fitVocabulary([new Int32Array([5, 5, 5, 3, 3, 7, 7, 9, 9, 9, 9, 2])], tokenizer, 4);
    expect(Array.from(table)).toEqual([1, 1, 1, 3, 1, 2, 1, 1, 1, 0]);
    expect(() => fitVocabulary([], tokenizer, 11)).toThrow(/vocabulary: 11 must be an integer in 3\.\.10/);
  });

  test('a BPE scenario: the vocabulary cut to the ids the training text uses most; labels still the inputs shifted', async () => {
    const config = {
      domains: ['licences', 'c-headers'],
      context: 8,
      pretrainTokens: 256,
      trainTokens: 128,
      validationTokens: 64,
      validationFraction: 0.1,
      tokenizer: await bpeTokenizer('gpt2'),
      vocabulary: 512,
    };
    const s = await textDomainsScenario(config, 2);
    expect(s.classesPerHead).toBe(512);
    const all = [0, 1, 2].flatMap((t) => [s.task(t).train, s.task(t).test]);
    expect(all.every((set) => set.labels.every((l) => l >= 0 && l < 512))).toBe(true);
    const train = s.task(1).train;
    expect(Array.from(train.labels.subarray(0, 7))).toEqual(Array.from(train.gather([0]).subarray(1)));
    // Fitted on these training tokens, so none of them is unknown.
    expect(s.task(1).train.labels.includes(FITTED_UNKNOWN)).toBe(false);
    const again = await textDomainsScenario(config, 2);
    expect(Array.from(again.task(2).test.labels)).toEqual(Array.from(s.task(2).test.labels));
    await expect(textDomainsScenario({ ...config, vocabulary: 60_000 }, 2)).rejects.toThrow(
      /^vocabulary: 60000 must be an integer in 3\.\.50257/,
    );
  });
});
