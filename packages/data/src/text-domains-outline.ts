import { statSync } from 'node:fs';
import type { OutlineProblem, OutlineResult } from './outline';
import { ScenarioConfigError } from './scenario';
import { isTextDomainName, missingPackages, TEXT_DOMAINS, type TextDomainName } from './text-corpus';
import { PRETRAIN_TASK, textDomainsWindows, type TextDomainsConfig } from './text-domains';

/** gzip shrinks roff about 3x: the outline's guess at a man page's size once read, without reading it. */
const GZIP_RATIO = 3;
/** A window's inputs and labels, as Int32Array token ids. */
const BYTES_PER_TOKEN = 2 * 4;

/**
 * The text-domains benchmark's outline without reading a document: the shape, the window counts
 * the budgets buy, problems for unknown domains, missing packages and budgets that hold no window,
 * and the memory the documents and windows take (from file sizes). Whether a domain holds as many
 * tokens as asked needs its text, so the scenario checks that, naming the field.
 */
export function textDomainsOutline(config: Omit<TextDomainsConfig, 'tokenizer'> & { vocabulary: number }): OutlineResult {
  const problems: OutlineProblem[] = [];
  const known: TextDomainName[] = [];
  config.domains.forEach((d, i) => {
    if (!isTextDomainName(d)) {
      problems.push({ field: `domains.${i}`, problem: `no text domain '${d}'; the domains are ${Object.keys(TEXT_DOMAINS).join(', ')}` });
      return;
    }
    const missing = missingPackages(d);
    if (missing.length > 0)
      problems.push({ field: `domains.${i}`, problem: `'${d}' needs ${missing.join(', ')}: run "apt-get install ${missing.join(' ')}"` });
    else known.push(d);
  });
  let windows = { train: 0, validation: 0, pretrainPerDomain: 0, validationPerDomain: 0 };
  try {
    windows = textDomainsWindows(config);
  } catch (e) {
    if (!(e instanceof ScenarioConfigError)) throw e;
    const [field, ...rest] = e.message.split(': ');
    problems.push({ field, problem: rest.join(': ') });
  }
  const n = config.domains.length;
  const pretrainWindows = windows.pretrainPerDomain * n;
  const tokens = config.context * (pretrainWindows + n * windows.train + windows.validationPerDomain * n + n * windows.validation);
  const documentBytes = known.reduce((total, d) => total + TEXT_DOMAINS[d].files().reduce((b, f) => b + readSize(f), 0), 0);
  return {
    outline: {
      name: `text-domains-${config.domains.join('+')}`,
      tasks: n + 1,
      heads: 1,
      classesPerHead: config.vocabulary,
      inputDims: [config.context],
      taskNames: [PRETRAIN_TASK, ...config.domains],
      targetsPerSample: config.context,
      trainPerTask: Math.max(pretrainWindows, windows.train),
      testPerTask: Math.max(windows.validationPerDomain * n, windows.validation),
      datasetBytes: documentBytes + tokens * BYTES_PER_TOKEN,
    },
    problems,
  };
}

function readSize(file: string): number {
  const size = statSync(file).size;
  return file.endsWith('.gz') ? size * GZIP_RATIO : size;
}
