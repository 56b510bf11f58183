/**
 * The search index: one document per current resource of every tenant (document.ts), with a
 * fixed mapping. R4 has about 2,600 parameter definitions (the default field limit is 1,000), so
 * values are not fields of their own: each is a `nested` entry naming its parameter, with generic
 * fields per value type, and composite values carry their components as a nested `parts` array.
 */
import type { Client } from '@opensearch-project/opensearch';

/**
 * Keyword values longer than this are left out of the index (Lucene refuses terms above 32,766
 * UTF-8 bytes, and one such term would fail the whole document). No search value is that long.
 */
const MAX_KEYWORD_CHARS = 8_191;

const keyword = { type: 'keyword', ignore_above: MAX_KEYWORD_CHARS } as const;
const double = { type: 'double' } as const;

/** The fields of one value, shared by `values` and their composite `parts`. */
const VALUE_FIELDS = {
  type: keyword,
  exact: keyword,
  normalized: keyword,
  system: keyword,
  code: keyword,
  text: keyword,
  unit: keyword,
  identifierTypes: keyword,
  refType: keyword,
  refId: keyword,
  key: keyword,
  uri: keyword,
  version: keyword,
  idSystem: keyword,
  idValue: keyword,
  start: double,
  end: double,
  num: double,
} as const;

export const INDEX_SETTINGS = {
  // Searchable about a second after indexing, like OpenSearch's default.
  refresh_interval: '1s',
  // Deletes are real deletes with external versions. Their tombstones must outlive DynamoDB
  // Streams' 24 h retention, so that a replayed older record is refused and cannot resurrect one.
  gc_deletes: '25h',
  // One replica where a second node exists; a single local node stays green.
  auto_expand_replicas: '0-1',
} as const;

export const INDEX_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    tenant: keyword,
    resourceType: keyword,
    id: keyword,
    ref: keyword,
    lastUpdated: double,
    versionId: keyword,
    resource: { type: 'object', enabled: false },
    values: {
      type: 'nested',
      properties: {
        param: keyword,
        ...VALUE_FIELDS,
        parts: { type: 'nested', properties: { component: { type: 'integer' }, ...VALUE_FIELDS } },
      },
    },
  },
} as const;

/** Creates the index with its settings and mappings unless it exists; safe against a concurrent creator. */
export async function ensureIndex(client: Client, index: string): Promise<void> {
  const exists = await client.indices.exists({ index });
  if (exists.body) {
    return;
  }
  try {
    await client.indices.create({ index, body: { settings: { index: INDEX_SETTINGS }, mappings: INDEX_MAPPINGS } as never });
  } catch (error) {
    if (errorType(error) !== 'resource_already_exists_exception') {
      throw error;
    }
  }
}

function errorType(error: unknown): string | undefined {
  const body = (error as { body?: { error?: { type?: string } } }).body;
  return body?.error?.type;
}
