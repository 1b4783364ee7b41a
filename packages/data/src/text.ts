import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { lazyScenario, type Scenario } from './scenario';
import { gatherWindows, type SampleSet } from './sample-set';
import { loadOnce } from './load-once';

/**
 * Text corpora for byte-level language models. The default folder holds the licence texts of
 * Debian's base-files package (GPL-3, Apache-2.0, MPL-2.0, ...): real English prose present on
 * every Debian and Ubuntu system, CI included, with no package to add.
 */
export const DEFAULT_TEXT_DIR = '/usr/share/common-licenses';

export class TextNotFoundError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(
      `text corpus ${file} could not be read (${cause instanceof Error ? cause.message : String(cause)}). ` +
        `The default corpora are Debian's licence texts ("apt-get install base-files"); set RETAIN_TEXT_DIR ` +
        `to another folder of plain-text files, or pick a source name that exists there.`,
    );
    this.name = 'TextNotFoundError';
  }
}

/** The bytes of corpus `name` in `dir` (default $RETAIN_TEXT_DIR, else DEFAULT_TEXT_DIR), read once per process. */
export function loadText(name: string, dir?: string): Promise<Uint8Array> {
  if (!name || name.includes('/') || name.includes('\\'))
    throw new Error(`text source '${name}' must be a file name inside the text folder`);
  return readTextFile(join(resolve(dir ?? process.env.RETAIN_TEXT_DIR ?? DEFAULT_TEXT_DIR), name));
}

const readTextFile = loadOnce((file: string) =>
  readFile(file).then(
    (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
    (e: unknown) => {
      throw new TextNotFoundError(file, e);
    },
  ),
);

/**
 * Next-byte prediction samples over `text[from, to)`: sample i is the `context` bytes starting
 * at from + i (as float32 byte values, the engine's input type), its label the byte after them.
 */
export class ByteWindowSampleSet implements SampleSet {
  readonly n: number;
  readonly inputDims: number[];
  readonly labels: Int32Array;

  constructor(
    private readonly text: Uint8Array,
    private readonly context: number,
    private readonly from = 0,
    to = text.length,
    private readonly description = 'text',
  ) {
    if (!Number.isInteger(context) || context < 1) throw new Error(`${description}: context must be a positive integer, got ${context}`);
    this.n = to - from - context;
    if (this.n < 1)
      throw new Error(
        `${description}: ${to - from} bytes hold no window of ${context} bytes plus a label; use a longer text or a shorter context`,
      );
    this.inputDims = [context];
    this.labels = Int32Array.from({ length: this.n }, (_, i) => text[from + i + context]);
  }

  gather(indices: ArrayLike<number>, out?: Float32Array): Float32Array {
    const t = this.context;
    return gatherWindows(this.description, this.n, t, indices, out, (i, target, at) => {
      for (let j = 0; j < t; j++) target[at + j] = this.text[this.from + i + j];
    });
  }
}

export interface TextScenarioConfig {
  /** One task per source file, e.g. ['GPL-3', 'Apache-2.0', 'MPL-2.0']. */
  sources: string[];
  /** Bytes of context per sample. */
  context: number;
  /** The share of each text (its end) held out for testing; default 0.1. */
  testFraction?: number;
  /** Folder of the sources; default $RETAIN_TEXT_DIR, else DEFAULT_TEXT_DIR. */
  dir?: string;
  /** 'shared' (default): one 256-way head for every text; 'per-task': a 256-way head per text. */
  heads?: 'shared' | 'per-task';
}

/**
 * Next-byte prediction on several texts, one task per text: one shared 256-way head
 * (domain-incremental) or a head per text. Each text's last `testFraction` is its test set.
 * Needs no seed: the split is fixed.
 */
export async function textScenario(config: TextScenarioConfig): Promise<Scenario> {
  const { sources, context, testFraction = 0.1 } = config;
  if (sources.length === 0) throw new Error('text scenario: sources must name at least one text');
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`text scenario: testFraction must be in (0, 1), got ${testFraction}`);
  const texts = await Promise.all(sources.map((s) => loadText(s, config.dir)));
  const info = {
    name: `text-${sources.join('+')}`,
    tasks: sources.length,
    heads: config.heads === 'per-task' ? sources.length : 1,
    classesPerHead: 256,
    inputDims: [context],
    taskNames: [...sources],
  };
  return lazyScenario(info, (index) => {
    const text = texts[index];
    const cut = Math.floor(text.length * (1 - testFraction));
    return {
      index,
      name: sources[index],
      classes: Array.from({ length: 256 }, (_, i) => i),
      train: new ByteWindowSampleSet(text, context, 0, cut, `${sources[index]} train`),
      test: new ByteWindowSampleSet(text, context, cut, text.length, `${sources[index]} test`),
    };
  });
}
