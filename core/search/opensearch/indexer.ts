/**
 * Applies resource changes to the OpenSearch index with the bulk API. Each document's version is
 * the resource's version (external versioning), so a replayed or out-of-order change can never
 * overwrite a newer version: OpenSearch answers it with a version conflict, which means "already
 * newer" and counts as done. Deletes are real deletes; the index keeps their version as a
 * tombstone for longer than the stream's retention (`index.gc_deletes`, mapping.ts), so a replay
 * cannot resurrect a deleted resource either.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { Resource } from '@medplum/fhirtypes';
import type { TenantId } from '../../tenant.js';
import { documentId, searchDocument } from './document.js';

export interface IndexChange {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
  readonly version: number;
  /** The version's content; undefined for a deletion. */
  readonly resource?: Resource;
}

/** Why a change could not be applied: retrying may help (`retryable`) or not (a mapping conflict). */
export class IndexingError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string };
}

export class ResourceIndexer {
  constructor(
    private readonly client: Client,
    private readonly index: string,
  ) {}

  /**
   * Applies the changes in one bulk request; the result holds, per change, the error that kept it
   * out of the index (undefined: applied or already superseded). A failure of the request itself
   * (OpenSearch unreachable) throws: nothing can be said about any change.
   */
  async apply(changes: readonly IndexChange[], options: { refresh?: boolean } = {}): Promise<(IndexingError | undefined)[]> {
    if (changes.length === 0) {
      return [];
    }
    const results: (IndexingError | undefined)[] = changes.map(() => undefined);
    const body: unknown[] = [];
    const sent: number[] = [];
    changes.forEach((change, index) => {
      const target = {
        _index: this.index,
        _id: documentId(change.tenant, change.resourceType, change.id),
        routing: change.tenant,
        version: change.version,
        version_type: 'external',
      };
      try {
        body.push(...(change.resource ? [{ index: target }, searchDocument(change.tenant, change.resource)] : [{ delete: target }]));
        sent.push(index);
      } catch (error) {
        // The document could not be built (e.g. an expression failed on this resource): this change alone fails.
        results[index] = new IndexingError(`Cannot index ${change.resourceType}/${change.id}: ${(error as Error).message}`, false);
      }
    });
    if (sent.length === 0) {
      return results;
    }
    const response = await this.client.bulk({ body: body as never, refresh: options.refresh ? 'wait_for' : false });
    const items = (response.body as { items: Record<string, BulkItemResult>[] }).items;
    items.forEach((item, position) => {
      const outcome = Object.values(item)[0];
      const change = changes[sent[position]];
      results[sent[position]] = failureOf(outcome, change);
    });
    return results;
  }
}

function failureOf(outcome: BulkItemResult, change: IndexChange): IndexingError | undefined {
  // 409: the index holds this version or a newer one; 404: deleting what is not there (its version is still recorded).
  if (outcome.status < 300 || outcome.status === 409 || outcome.status === 404) {
    return undefined;
  }
  const reason = `${outcome.error?.type ?? 'error'}: ${outcome.error?.reason ?? `HTTP ${outcome.status}`}`;
  // 429 and 5xx are OpenSearch's own trouble; anything else is about this document.
  const retryable = outcome.status === 429 || outcome.status >= 500;
  return new IndexingError(`Indexing ${change.resourceType}/${change.id} version ${change.version} failed: ${reason}`, retryable);
}
