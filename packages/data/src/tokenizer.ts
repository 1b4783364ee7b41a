/**
 * How a text domain's bytes become token ids. Every tokenizer has an end-of-document token that
 * the token streams put after each document, so windows that run across two documents show it.
 */
export interface Tokenizer {
  /** 'bytes', or the BPE and its vocabulary. */
  readonly name: string;
  /** Token ids are 0..vocabulary-1: the model's classes per head. */
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
