import { z } from 'zod';
import { definePlugin } from '@retain/sdk';
import {
  BPE_ENCODINGS,
  bpeTokenizer,
  bpeVocabulary,
  byteTokenizer,
  TEXT_DOMAIN_NAMES,
  textDomainsOutline,
  textDomainsScenario,
  type Tokenizer,
} from '@retain/data';

/** A BPE's vocabulary when none is given: the ids the corpus uses most, a head of 4096 classes. */
export const DEFAULT_BPE_VOCABULARY = 4096;

export const textDomainsConfigSchema = z
  .strictObject({
    /** Tasks 1..N, one domain each, in this order (task 0 pretrains on all of them). */
    domains: z
      .array(z.enum(TEXT_DOMAIN_NAMES))
      .min(1)
      .default([...TEXT_DOMAIN_NAMES])
      .superRefine((domains, ctx) => {
        domains.forEach((d, i) => {
          if (domains.indexOf(d) !== i)
            ctx.addIssue({ code: 'custom', path: [i], message: `'${d}' is listed twice; each domain is one task` });
        });
      }),
    /** Tokens per sample: the model's context; every position is a next-token target. */
    context: z.number().int().min(1).default(64),
    /** Task 0 (pretraining) tokens, an equal share from each domain's training documents. */
    pretrainTokens: z.number().int().min(1).default(200_000),
    /** Training tokens of each domain's task (after the pretraining share, never the same tokens). */
    trainTokens: z.number().int().min(1).default(50_000),
    /** Validation tokens of each task; task 0's are an equal share of each domain's. */
    validationTokens: z.number().int().min(1).default(8_192),
    /** Share of each domain's bytes held out for validation, in whole documents (seeded split). */
    validationFraction: z.number().gt(0).lt(1).default(0.1),
    /** bytes: one token per byte, vocabulary 256. bpe: a tiktoken BPE (`encoding`), cut to `vocabulary` ids. */
    tokenizer: z.enum(['bytes', 'bpe']).default('bytes'),
    /** The BPE's ranks (js-tiktoken): GPT-2's (50,257 ids) or GPT-4's cl100k_base (100,277); bpe only. */
    encoding: z.enum(BPE_ENCODINGS).optional(),
    /** Ids the model sees (bpe only; default 4096): the most frequent in the training tokens, plus end of document and unknown. */
    vocabulary: z.number().int().min(3).max(100_277).optional(),
  })
  .superRefine((config, ctx) => {
    if (config.tokenizer !== 'bpe') {
      for (const field of ['encoding', 'vocabulary'] as const)
        if (config[field] !== undefined)
          ctx.addIssue({ code: 'custom', path: [field], message: `${field} is for tokenizer: bpe only; remove it or set tokenizer: bpe` });
      return;
    }
    const ids = bpeVocabulary(config.encoding ?? 'gpt2');
    if (config.vocabulary !== undefined && config.vocabulary > ids)
      ctx.addIssue({
        code: 'custom',
        path: ['vocabulary'],
        message: `${config.vocabulary} is more than the ${ids} ids of ${config.encoding ?? 'gpt2'}`,
      });
  });
export type TextDomainsBenchmarkConfig = z.output<typeof textDomainsConfigSchema>;

/** Continual language modelling: pretrain on a mixture of Debian text domains, then fine-tune on one after another. */
export const textDomains = definePlugin({
  kind: 'benchmark',
  name: 'text-domains',
  version: '0.1.0',
  description:
    'Causal language modelling on real text domains from Debian packages (licences, man pages, Python docs, C headers, fortunes): task 0 pretrains on their mixture, then one task per domain.',
  configSchema: textDomainsConfigSchema,
  scenario: async (config: TextDomainsBenchmarkConfig, seed: number) => {
    const { tokenizer, vocabulary } = tokenization(config);
    return textDomainsScenario({ ...config, tokenizer: await tokenizer(), vocabulary }, seed);
  },
  /** Shape, window counts, missing packages and memory from file sizes: no document is read. */
  outline: (config: TextDomainsBenchmarkConfig) => textDomainsOutline({ ...config, vocabulary: tokenization(config).classes }),
});

/** The tokenizer a config names (built on call: BPE ranks are decoded only for a scenario), its vocabulary cut and the head's classes. */
function tokenization(config: TextDomainsBenchmarkConfig): { tokenizer: () => Promise<Tokenizer>; vocabulary?: number; classes: number } {
  if (config.tokenizer === 'bytes') return { tokenizer: () => Promise.resolve(byteTokenizer), classes: byteTokenizer.vocabulary };
  const vocabulary = config.vocabulary ?? DEFAULT_BPE_VOCABULARY;
  return { tokenizer: () => bpeTokenizer(config.encoding ?? 'gpt2'), vocabulary, classes: vocabulary };
}
