import { z } from 'zod';
import { definePlugin } from '@retain/sdk';
import { byteTokenizer, TEXT_DOMAIN_NAMES, textDomainsOutline, textDomainsScenario } from '@retain/data';

export const textDomainsConfigSchema = z.strictObject({
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
  /** bytes: one token per byte, vocabulary 256. */
  tokenizer: z.enum(['bytes']).default('bytes'),
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
  scenario: (config: TextDomainsBenchmarkConfig, seed: number) => textDomainsScenario({ ...config, tokenizer: byteTokenizer }, seed),
  /** Shape, window counts, missing packages and memory from file sizes: no document is read. */
  outline: (config: TextDomainsBenchmarkConfig) => textDomainsOutline({ ...config, vocabulary: byteTokenizer.vocabulary }),
});
