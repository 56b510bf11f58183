/**
 * What a search engine answers, whichever it is: the DynamoDB engine (dynamodb/engine.ts) or the
 * OpenSearch engine (opensearch/engine.ts), with the same matches, order, pages and totals.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { TenantId } from '../tenant.js';
import type { SearchQuery } from './types.js';

export interface SearchResult {
  readonly matches: Resource[];
  /** `_include`/`_revinclude` results, none of them also a match. */
  readonly included: Resource[];
  /** Absent with `_total=none`. */
  readonly total?: number;
  readonly next?: string;
  readonly previous?: string;
}

export interface SearchEngine {
  search(tenant: TenantId, query: SearchQuery): Promise<SearchResult>;
}
