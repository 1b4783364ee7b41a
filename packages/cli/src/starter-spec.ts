import { SECTION_DOCS } from './spec-schema';

/** What `retain init` names a spec whose file name is not a valid spec name. */
const FALLBACK_NAME = 'my-experiment';

/**
 * The commented starter spec `retain init` writes: the schema comment (editors complete and check
 * fields from it), every section with why it is there (the same sentences as the schema's
 * descriptions), and a small run that finishes in about a minute on a laptop. Optional sections
 * that change what a run means (qat, routing to other queues, a priority) are commented out.
 */
export function starterSpec(opts: { name: string; schemaPath: string }): string {
  const name = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(opts.name) ? opts.name : FALLBACK_NAME;
  const why = (section: string) => `# ${SECTION_DOCS[section]}`;
  return [
    `# yaml-language-server: $schema=${opts.schemaPath}`,
    '# A Retain experiment spec, written by `retain init`. Check it with `npx retain validate <file>` (it prints',
    '# every default filled in), run it with `npx retain run <file>`. `npx retain plugins` lists every plugin.',
    '',
    why('name'),
    `name: ${name}`,
    why('description'),
    'description: Naive fine-tuning on 3 permuted Fashion-MNIST tasks; fp32 against int8 and int4 after every task.',
    why('seed'),
    'seed: 0',
    '',
    why('benchmark'),
    '# Others: split-fmnist (config mode: task-il | domain-il | class-il), text-bytes, text-domains (with a causal LM).',
    'benchmark:',
    '  name: permuted-fmnist',
    '  config: { tasks: 3 }',
    why('model'),
    'model:',
    '  name: mlp',
    '  config: { hidden: [256, 256] }',
    why('trainer'),
    'trainer:',
    '  name: supervised',
    '  config: { epochs: 1, batchSize: 128, lr: 0.01, optimizer: { name: sgd, momentum: 0.9 } }',
    why('method'),
    '# Others: ewc, online-ewc, si, lwf, replay, agem, adaptive-lr, joint (the upper bound), pnn.',
    'method: naive # a plugin name alone takes its defaults; or { name: ewc, config: { lambda: 5 } }',
    '',
    why('quantizers'),
    'quantizers:',
    '  - { name: rtn, config: { bits: 8 } } # id defaults to rtn-int8',
    '  - { name: rtn, config: { bits: 4 } } # rtn-int4',
    why('evaluators'),
    'evaluators: [accuracy]',
    why('qat'),
    '# qat: { quantizer: rtn-int4, lsq: true }',
    '',
    why('execution'),
    'execution:',
    '  taskQueue: retain # the queue `retain worker` polls by default',
    '  # queues: { train: gpu, finish: cpu } # training on one queue, the rest on another',
    "  # priority: 1 # 1 (soonest) to 5 on shared workers; absent: Temporal's default (3)",
    "  heartbeatTimeoutSeconds: 4 # a killed worker's task runs again this long after its last heartbeat",
    '  continueAsNewAfterEvents: 1000 # history events per workflow execution before it continues as new',
    why('evaluation'),
    'evaluation:',
    '  tasks: all # or seen-and-next, { every: k }, { sample: n }',
    '',
  ].join('\n');
}
