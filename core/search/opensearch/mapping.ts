/**
 * The search index: one document per current resource of every tenant (document.ts), with a
 * fixed mapping. R4 has about 2,600 parameter definitions (the default field limit is 1,000), so
 * values are not fields of their own: each is a `nested` entry naming its parameter, with generic
 * fields per value type, and composite values carry their components as a nested `parts` array.
 */
import type { Client } from '@opensearch-project/opensearch';
import { MAX_KEYWORD_CHARS, NESTED_OBJECTS_LIMIT } from './document-limits.js';

// `ignore_above` is a safety net: document-limits.ts shortens longer values before they get here.
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

/** `refresh_interval` below: the stream processor waits this long after indexing before it removes recent-change items. */
export const INDEX_REFRESH_MS = 1_000;

export const INDEX_SETTINGS = {
  // Searchable about a second after indexing, like OpenSearch's default.
  refresh_interval: '1s',
  // Deletes are real deletes with external versions. Their tombstones must outlive DynamoDB
  // Streams' 24 h retention, so that a replayed older record is refused and cannot resurrect one.
  gc_deletes: '25h',
  // One replica where a second node exists; a single local node stays green.
  auto_expand_replicas: '0-1',
  // OpenSearch's default, stated because document-limits.ts caps a document's values to it.
  'mapping.nested_objects.limit': NESTED_OBJECTS_LIMIT,
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
    /** Present only on a document indexed in a degraded form (document-limits.ts): what is missing and why. */
    indexIssues: { properties: { kind: keyword, param: keyword, detail: keyword } },
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

/**
 * Creates the index with its settings and mappings unless it exists, else adds the fields new
 * since it was created (`indexIssues`; OpenSearch refuses changes to existing fields); safe
 * against a concurrent creator.
 */
export async function ensureIndex(client: Client, index: string): Promise<void> {
  const exists = await client.indices.exists({ index });
  if (exists.body) {
    await client.indices.putMapping({ index, body: INDEX_MAPPINGS as never });
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
