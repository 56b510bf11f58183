/**
 * The resources indexed in a degraded form (document-limits.ts), for an operator: which ones, at
 * which version, and what their searches may miss. A later version that fits is indexed in full
 * and leaves the list; `npm run reindex` after raising a limit does the same for all of them.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { TenantId } from '../../tenant.js';
import type { IndexIssue } from './document.js';

export interface IncompletelyIndexed {
  readonly tenant: TenantId;
  /** `Type/id`. */
  readonly ref: string;
  readonly versionId?: string;
  readonly issues: readonly IndexIssue[];
}

const PAGE = 500;

/** Every resource with `indexIssues`, of one tenant or all, in tenant then `Type/id` order. */
export async function* incompletelyIndexed(client: Client, index: string, options: { tenant?: TenantId } = {}): AsyncGenerator<IncompletelyIndexed> {
  const filter = [{ exists: { field: 'indexIssues.kind' } }, ...(options.tenant ? [{ term: { tenant: options.tenant } }] : [])];
  let after: unknown[] | undefined;
  do {
    const response = await client.search({
      index,
      ...(options.tenant ? { routing: options.tenant } : {}),
      body: {
        query: { bool: { filter } },
        sort: [{ tenant: 'asc' }, { ref: 'asc' }],
        size: PAGE,
        _source: ['tenant', 'ref', 'versionId', 'indexIssues'],
        ...(after ? { search_after: after } : {}),
      } as never,
    });
    const hits = (response.body as unknown as { hits: { hits: { _source: { tenant: TenantId; ref: string; versionId?: string; indexIssues: IndexIssue[] }; sort: unknown[] }[] } }).hits.hits;
    for (const { _source } of hits) {
      yield { tenant: _source.tenant, ref: _source.ref, ...(_source.versionId ? { versionId: _source.versionId } : {}), issues: _source.indexIssues };
    }
    after = hits.length === PAGE ? hits[hits.length - 1].sort : undefined;
  } while (after);
}
