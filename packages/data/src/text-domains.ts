import { deriveSeed, Rng } from '@retain/engine';
import { checkSeed, lazyScenario, ScenarioConfigError, type Scenario, type ScenarioInfo, type TaskData } from './scenario';
import { isTextDomainName, loadDomainDocuments, TEXT_DOMAIN_NAMES, type TextDocument, type TextDomainName } from './text-corpus';
import { TokenWindowSampleSet } from './token-windows';
import { byteTokenizer, fitVocabulary, type Tokenizer } from './tokenizer';

export interface TextDomainsConfig {
  /** Tasks 1..N, in this order (names from TEXT_DOMAINS). */
  domains: string[];
  /** Tokens per sample: the model's context. */
  context: number;
  /** Tokens of task 0, the pretraining stage, drawn evenly from every domain's training documents. */
  pretrainTokens: number;
  /** Training tokens of each domain's task. */
  trainTokens: number;
  /** Validation tokens of each task (task 0's drawn evenly from every domain's validation documents). */
  validationTokens: number;
  /** Share of each domain's bytes held out for validation, in whole documents (seeded). */
  validationFraction: number;
  /** How bytes become tokens; byte-level (vocabulary 256) by default. */
  tokenizer?: Tokenizer;
  /**
   * Keep only this many token ids (fitVocabulary over the training tokens), so a BPE's 50,257 ids
   * become a head the size of what the corpus uses; absent: the tokenizer's own ids.
   */
  vocabulary?: number;
}

/** Task 0's name. */
export const PRETRAIN_TASK = 'pretrain';

/** Windows of `context` predicted tokens that `tokens` buys (budgets are rounded down to whole windows). */
const windowsOf = (tokens: number, context: number) => Math.floor(tokens / context);

/**
 * A domain's documents split by document with a seeded shuffle: validation takes documents from
 * the front of the shuffle until it holds `validationFraction` of the domain's bytes (at least
 * one document, and one left for training); training is the rest, in shuffled order. By bytes, not
 * by count, so one short held-out document (a two-line licence) cannot starve validation. The seed
 * is derived from the domain's name, so a domain's split does not depend on which others run.
 */
export function splitDocuments(
  docs: TextDocument[],
  validationFraction: number,
  seed: number,
  domain: string,
): { train: TextDocument[]; validation: TextDocument[] } {
  if (docs.length < 2) throw new ScenarioConfigError(`domains: '${domain}' has ${docs.length} document(s); a split needs at least 2`);
  const order = new Rng(deriveSeed(seed, 'text-domains-split', domain)).permutation(docs.length);
  const shuffled = Array.from(order, (i) => docs[i]);
  const target = validationFraction * docs.reduce((n, d) => n + d.bytes.length, 0);
  let held = 0;
  for (let bytes = 0; held < docs.length - 1 && (held === 0 || bytes < target); held++) bytes += shuffled[held].bytes.length;
  return { validation: shuffled.slice(0, held), train: shuffled.slice(held) };
}

/**
 * The first `need` tokens of the documents one after another, each followed by the tokenizer's
 * end-of-document token (documents are short; windows run across their ends, as in GPT-style
 * packing). Tokenizes only as many documents as it takes; `available` is the whole stream's
 * length when it falls short (then every document was tokenized).
 */
export function tokenStream(docs: TextDocument[], tokenizer: Tokenizer, need: number): { tokens: Int32Array; available: number } {
  const tokens = new Int32Array(need);
  let at = 0;
  for (const doc of docs) {
    const ids = tokenizer.encode(doc.bytes);
    const take = Math.min(ids.length, need - at);
    for (let i = 0; i < take; i++) tokens[at + i] = ids[i];
    at += take;
    if (at < need) tokens[at++] = tokenizer.endOfDocument;
    if (at >= need) return { tokens, available: need };
  }
  return { tokens: tokens.subarray(0, at), available: at };
}

export function checkDomains(domains: string[]): TextDomainName[] {
  if (domains.length === 0) throw new ScenarioConfigError('domains: name at least one domain');
  const seen = new Set<string>();
  return domains.map((d, i) => {
    if (!isTextDomainName(d))
      throw new ScenarioConfigError(`domains.${i}: no text domain '${d}'; the domains are ${TEXT_DOMAIN_NAMES.join(', ')}`);
    if (seen.has(d)) throw new ScenarioConfigError(`domains.${i}: '${d}' is listed twice; each domain is one task`);
    seen.add(d);
    return d;
  });
}

/** The per-task window counts a config asks for (budgets rounded down to whole windows); errors name the field. */
export function textDomainsWindows(config: Omit<TextDomainsConfig, 'tokenizer'>) {
  const { context } = config;
  const n = config.domains.length;
  const at = (field: 'trainTokens' | 'validationTokens' | 'pretrainTokens', tokens: number, what: string) => {
    const w = windowsOf(tokens, context);
    if (w < 1)
      throw new ScenarioConfigError(
        `${field}: ${tokens} tokens ${what} hold no window of ${context} tokens (context); raise ${field} to at least ${context * (field === 'trainTokens' ? 1 : n)}`,
      );
    return w;
  };
  return {
    train: at('trainTokens', config.trainTokens, 'per domain'),
    validation: at('validationTokens', config.validationTokens, 'per task'),
    // Task 0 draws the same share from every domain.
    pretrainPerDomain: at('pretrainTokens', Math.floor(config.pretrainTokens / n), `over ${n} domains`),
    validationPerDomain: at('validationTokens', Math.floor(config.validationTokens / n), `over ${n} domains (task 0)`),
  };
}

/**
 * Continual language modelling over real text domains: task 0 pretrains on a mixture of every
 * domain, tasks 1..N fine-tune on one domain each, in the configured order. Each domain's
 * documents are split into training and validation by document (seeded); a domain's task trains
 * on the start of its training stream and task 0 on the part right after it, so no token is
 * trained on twice. A sample is `context` tokens with `context` labels (the next token at each
 * position); one shared head over the tokenizer's vocabulary. A pure function of (config, seed)
 * over the installed packages' files.
 */
export async function textDomainsScenario(config: TextDomainsConfig, seed: number): Promise<Scenario> {
  checkSeed(seed);
  const domains = checkDomains(config.domains);
  const { context, validationFraction } = config;
  const tokenizer = config.tokenizer ?? byteTokenizer;
  if (!(validationFraction > 0 && validationFraction < 1))
    throw new ScenarioConfigError(`validationFraction: must be in (0, 1), got ${validationFraction}`);
  if (
    config.vocabulary !== undefined &&
    !(Number.isInteger(config.vocabulary) && config.vocabulary >= 3 && config.vocabulary <= tokenizer.vocabulary)
  )
    throw new ScenarioConfigError(
      `vocabulary: ${config.vocabulary} must be an integer in 3..${tokenizer.vocabulary} (the ids of ${tokenizer.name}; 2 of them are end of document and unknown)`,
    );
  const windows = textDomainsWindows(config);
  const docs = await Promise.all(domains.map((d) => loadDomainDocuments(d)));

  const streams = domains.map((domain, d) => {
    const split = splitDocuments(docs[d], validationFraction, seed, domain);
    const trainNeed = windows.train * context + 1;
    const pretrainNeed = windows.pretrainPerDomain * context + 1;
    const train = tokenStream(split.train, tokenizer, trainNeed + pretrainNeed);
    if (train.available < trainNeed + pretrainNeed) {
      const field = train.available < trainNeed ? 'trainTokens' : 'pretrainTokens';
      throw new ScenarioConfigError(
        `${field}: '${domain}' has ${train.available} tokens in its ${split.train.length} training documents, but trainTokens ` +
          `${config.trainTokens} and its share of pretrainTokens (${config.pretrainTokens} / ${domains.length}) need ` +
          `${trainNeed + pretrainNeed}; lower ${field} (or validationFraction)`,
      );
    }
    const validationNeed = windows.validation * context + 1;
    const validation = tokenStream(split.validation, tokenizer, validationNeed);
    if (validation.available < validationNeed) {
      throw new ScenarioConfigError(
        `validationTokens: '${domain}' has ${validation.available} tokens in its ${split.validation.length} validation documents, ` +
          `but validationTokens ${config.validationTokens} need ${validationNeed}; lower validationTokens or raise validationFraction`,
      );
    }
    return { domain, train: train.tokens, trainNeed, validation: validation.tokens };
  });

  // The vocabulary is fitted on every training token the scenario holds (task 0's and each
  // domain's), never on validation text: validation tokens outside it count as unknown.
  let vocabulary = tokenizer.vocabulary;
  if (config.vocabulary !== undefined) {
    const table = fitVocabulary(
      streams.map((s) => s.train),
      tokenizer,
      config.vocabulary,
    );
    for (const s of streams)
      for (const tokens of [s.train, s.validation]) for (let i = 0; i < tokens.length; i++) tokens[i] = table[tokens[i]];
    vocabulary = config.vocabulary;
  }

  const parts = streams.map(({ domain, train, trainNeed, validation }) => ({
    train: TokenWindowSampleSet.fromStream(train, context, windows.train, `${domain} train`),
    pretrain: TokenWindowSampleSet.fromStream(train.subarray(trainNeed), context, windows.pretrainPerDomain, `${domain} pretrain`),
    validation: TokenWindowSampleSet.fromStream(validation, context, windows.validation, `${domain} validation`),
    pretrainValidation: TokenWindowSampleSet.fromStream(validation, context, windows.validationPerDomain, `${domain} validation`),
  }));

  const info: ScenarioInfo = {
    name: `text-domains-${domains.join('+')}`,
    tasks: domains.length + 1,
    heads: 1,
    classesPerHead: vocabulary,
    inputDims: [context],
    taskNames: [PRETRAIN_TASK, ...domains],
    targetsPerSample: context,
  };
  const classes = Array.from({ length: vocabulary }, (_, i) => i);
  return lazyScenario(info, (index): TaskData => {
    if (index === 0) {
      return {
        index,
        name: PRETRAIN_TASK,
        classes,
        train: TokenWindowSampleSet.concat(
          parts.map((p) => p.pretrain),
          'pretrain train',
        ),
        test: TokenWindowSampleSet.concat(
          parts.map((p) => p.pretrainValidation),
          'pretrain validation',
        ),
      };
    }
    const part = parts[index - 1];
    return { index, name: domains[index - 1], classes, train: part.train, test: part.validation };
  });
}
