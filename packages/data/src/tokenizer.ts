import { loadOnce } from './load-once';

// js-tiktoken is an ES module (its ranks too: 0.5-1 MB each), loaded only when a BPE is asked for.
type TiktokenLite = typeof import('js-tiktoken/lite', { with: { 'resolution-mode': 'import' } });
type TiktokenBPE = import('js-tiktoken/lite', { with: { 'resolution-mode': 'import' } }).TiktokenBPE;

/**
 * How a text domain's bytes become token ids. Every tokenizer has an end-of-document token that
 * the token streams put after each document, so windows that run across two documents show it.
 */
export interface Tokenizer {
  /** 'bytes', or 'bpe-<encoding>'. */
  readonly name: string;
  /** Token ids are 0..vocabulary-1. */
  readonly vocabulary: number;
  readonly endOfDocument: number;
  encode(text: Uint8Array): ArrayLike<number>;
}

/**
 * Byte-level: a token per byte, 256 ids. Byte 0 (NUL), which none of the domains' texts holds,
 * ends a document.
 */
export const byteTokenizer: Tokenizer = {
  name: 'bytes',
  vocabulary: 256,
  endOfDocument: 0,
  encode: (text) => text,
};

/**
 * The BPE encodings js-tiktoken ships ranks for that the text domains offer (GPT-2's and GPT-4's),
 * with their id counts (ranks and special tokens; tokenizer.test.ts checks them against the ranks),
 * so a config is checked without loading them.
 */
const BPE_IDS = { gpt2: 50_257, cl100k_base: 100_277 } as const;
export type BpeEncoding = keyof typeof BPE_IDS;
export const BPE_ENCODINGS = Object.keys(BPE_IDS) as BpeEncoding[];

const loadRanks = (encoding: BpeEncoding): Promise<{ default: TiktokenBPE }> =>
  encoding === 'gpt2' ? import('js-tiktoken/ranks/gpt2') : import('js-tiktoken/ranks/cl100k_base');

const END_OF_TEXT = '<|endoftext|>';

/** The encoding's id count (its ranks and special tokens). */
export function bpeVocabulary(encoding: BpeEncoding): number {
  return BPE_IDS[encoding];
}

/**
 * A tiktoken BPE (js-tiktoken, with the ranks it ships): text is decoded as UTF-8 and encoded
 * with special-token text treated as plain text; `<|endoftext|>` ends a document. Documents are
 * encoded once per process (the same document bytes, the same ids).
 */
export const bpeTokenizer: (encoding: BpeEncoding) => Promise<Tokenizer> = loadOnce(loadBpe);

async function loadBpe(encoding: BpeEncoding): Promise<Tokenizer> {
  const [{ Tiktoken }, { default: ranks }]: [TiktokenLite, { default: TiktokenBPE }] = await Promise.all([
    import('js-tiktoken/lite'),
    loadRanks(encoding),
  ]);
  // Decoding the ranks takes 0.1-0.8 s, once per process.
  const bpe = new Tiktoken(ranks);
  const encoded = new WeakMap<Uint8Array, Int32Array>();
  const decoder = new TextDecoder();
  return {
    name: `bpe-${encoding}`,
    vocabulary: bpeVocabulary(encoding),
    endOfDocument: ranks.special_tokens[END_OF_TEXT],
    encode(text: Uint8Array): Int32Array {
      let ids = encoded.get(text);
      if (!ids) {
        ids = Int32Array.from(bpe.encode(decoder.decode(text), [], []));
        encoded.set(text, ids);
      }
      return ids;
    },
  };
}

/** Ids of a fitted vocabulary that every fit has: the end of a document, and a token outside the vocabulary. */
export const FITTED_END_OF_DOCUMENT = 0;
export const FITTED_UNKNOWN = 1;

/**
 * A smaller vocabulary for a model whose head is its size: the `size - 2` ids most frequent in
 * `fitOn` (ties to the lower id) become 2.., end of document 0, every other id 1 (unknown).
 * Returns the old-to-new id table.
 */
export function fitVocabulary(fitOn: Int32Array[], tokenizer: Tokenizer, size: number): Int32Array {
  if (!Number.isInteger(size) || size < 3 || size > tokenizer.vocabulary)
    throw new Error(`vocabulary: ${size} must be an integer in 3..${tokenizer.vocabulary} (${tokenizer.name}'s ids)`);
  const counts = new Float64Array(tokenizer.vocabulary);
  for (const tokens of fitOn) for (let i = 0; i < tokens.length; i++) counts[tokens[i]]++;
  counts[tokenizer.endOfDocument] = 0;
  const used = Array.from({ length: tokenizer.vocabulary }, (_, id) => id).filter((id) => counts[id] > 0);
  used.sort((a, b) => counts[b] - counts[a] || a - b);
  const table = new Int32Array(tokenizer.vocabulary).fill(FITTED_UNKNOWN);
  table[tokenizer.endOfDocument] = FITTED_END_OF_DOCUMENT;
  used.slice(0, size - 2).forEach((id, rank) => (table[id] = rank + 2));
  return table;
}
