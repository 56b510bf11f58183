/**
 * Which engine answers a search when OpenSearch is configured. The index is eventually
 * consistent (a write is searchable there about a second later) while the table is strongly
 * consistent, so the table keeps every query it answers at least as cheaply:
 *
 * - `_id=…`: a BatchGetItem of those ids;
 * - compartment search `Patient/123/Observation`: one patient's GSI2 partition;
 * - a plain listing (one type, no criteria, newest first): one GSI3 page.
 *
 * Everything else goes to OpenSearch, whose cost does not grow with the number of resources a
 * criterion has to scan. Conditional operations and transaction criteria never come here: they
 * always search the table (strongly consistent reads, recent changes included: docs/consistency.md).
 */
import type { TenantId } from '../tenant.js';
import { isPlainListing } from './dynamodb/engine.js';
import type { SearchEngine, SearchResult } from './engine.js';
import type { SearchQuery } from './types.js';

export class RoutedSearchEngine implements SearchEngine {
  constructor(
    private readonly table: SearchEngine,
    private readonly index: SearchEngine,
  ) {}

  search(tenant: TenantId, query: SearchQuery): Promise<SearchResult> {
    return (answeredByTable(query) ? this.table : this.index).search(tenant, query);
  }
}

export function answeredByTable(query: SearchQuery): boolean {
  if (query.compartment) {
    return true;
  }
  if (query.criteria.some((criterion) => 'param' in criterion && criterion.chain.length === 0 && criterion.param.code === '_id' && criterion.modifier === undefined)) {
    return true;
  }
  return isPlainListing(query);
}
