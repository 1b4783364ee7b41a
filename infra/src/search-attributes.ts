import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const INDEXED_TYPES: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** `--search-attribute` flags for `temporal server start-dev`. */
export function searchAttributeFlags(attributes: Record<string, SearchAttributeType> = {}): string[] {
  return Object.entries(attributes).flatMap(([name, type]) => {
    if (!(type in INDEXED_TYPES)) {
      throw new Error(`Search attribute '${name}' has type '${String(type)}'; use one of ${Object.keys(INDEXED_TYPES).join(', ')}.`);
    }
    return ['--search-attribute', `${name}=${type}`];
  });
}

/**
 * Registers the custom search attributes that `namespace` lacks (through the operator service),
 * so a server that was started without them (a reused embedded server, a cluster) gets them too.
 * An attribute that exists with another type is an error: Temporal cannot change a type in place.
 */
export async function ensureSearchAttributes(
  server: string | Connection,
  namespace: string,
  attributes: Record<string, SearchAttributeType>,
): Promise<void> {
  if (Object.keys(attributes).length === 0) return;
  searchAttributeFlags(attributes); // validates the types
  // A Connection of the caller's carries its TLS and API key; an address is a plaintext server.
  const connection = typeof server === 'string' ? await Connection.connect({ address: server }) : server;
  const address = typeof server === 'string' ? server : connection.options.address;
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = { ...existing.systemAttributes, ...existing.customAttributes };
    const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
    for (const [name, type] of Object.entries(attributes)) {
      const wanted = INDEXED_TYPES[type];
      const current = known[name];
      if (current === undefined || current === null) missing[name] = wanted;
      else if (current !== wanted) {
        throw new Error(
          `Search attribute '${name}' already exists in namespace '${namespace}' at ${address} with another type ` +
            `(${IndexedValueType[current]}), not ${type}. Rename the attribute, or use a fresh server/namespace.`,
        );
      }
    }
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    }
  } finally {
    if (typeof server === 'string') await connection.close();
  }
}
