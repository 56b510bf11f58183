/**
 * Applies resource changes to the OpenSearch index with the bulk API. Each document's version is
 * the resource's version (external versioning), so a replayed or out-of-order change can never
 * overwrite a newer version: OpenSearch answers it with a version conflict, which means "already
 * newer" and counts as done. Deletes are real deletes; the index keeps their version as a
 * tombstone for longer than the stream's retention (`index.gc_deletes`, mapping.ts), so a replay
 * cannot resurrect a deleted resource either.
 *
 * A resource is never left out for being beyond what OpenSearch takes: its document is built
 * within the limits (document-limits.ts), and one OpenSearch still refuses is indexed again at
 * once as its identity document; either way it is reported (a WARN log line, and `indexIssues`
 * in the index, index-issues.ts), not failed, so its stream record does not hold up the others.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Client } from '@opensearch-project/opensearch';
import type { Resource } from '@medplum/fhirtypes';
import type { TenantId } from '../../tenant.js';
import { documentId, identityDocument, type IndexIssue, type SearchDocument, searchDocument } from './document.js';
import { withinLimits } from './document-limits.js';

export interface IndexChange {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
  readonly version: number;
  /** The version's content; undefined for a deletion. */
  readonly resource?: Resource;
}

/** Why a change could not be applied: retrying may help (`retryable`) or not. */
export class IndexingError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** A version indexed in a degraded form: what its searches may miss. */
export interface IncompleteIndexing {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
  readonly version: number;
  readonly issues: readonly IndexIssue[];
}

export interface ResourceIndexerOptions {
  /** Told of every version indexed incompletely; by default a WARN log line. */
  readonly onIncomplete?: (report: IncompleteIndexing) => void;
}

/** A change as sent: its position among the changes applied, and its document (none: a deletion). */
interface BulkEntry {
  readonly index: number;
  readonly change: IndexChange;
  readonly document?: SearchDocument;
}

interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string };
}

const logger = new Logger({ serviceName: 'fhir-search-indexer' });

/** Kinds and parameters only: a refusal's detail can quote values, i.e. patient data. */
function logIncomplete({ issues, ...version }: IncompleteIndexing): void {
  logger.warn('resource not fully indexed', { ...version, issues: issues.map(({ kind, param }) => ({ kind, param })) });
}

export class ResourceIndexer {
  private readonly onIncomplete: (report: IncompleteIndexing) => void;

  constructor(
    private readonly client: Client,
    private readonly index: string,
    options: ResourceIndexerOptions = {},
  ) {
    this.onIncomplete = options.onIncomplete ?? logIncomplete;
  }

  /**
   * Applies the changes in one bulk request (and a second for documents OpenSearch refused,
   * as their identity documents); the result holds, per change, the error that kept it out of
   * the index (undefined: applied, possibly degraded, or already superseded). A failure of a
   * request itself (OpenSearch unreachable) throws: nothing can be said about any change.
   */
  async apply(changes: readonly IndexChange[], options: { refresh?: boolean } = {}): Promise<(IndexingError | undefined)[]> {
    const results: (IndexingError | undefined)[] = changes.map(() => undefined);
    const entries: BulkEntry[] = [];
    changes.forEach((change, index) => {
      const document = change.resource && documentFor(change, change.resource);
      if (document instanceof IndexingError) {
        results[index] = document;
      } else {
        entries.push({ index, change, document });
      }
    });
    const outcomes = await this.bulk(entries, options);
    const refused = entries.flatMap((entry, position) => {
      const { status, error } = outcomes[position];
      if (!entry.change.resource || !entry.document || isIdentity(entry.document) || !isRefusal(status)) {
        return [];
      }
      const issue: IndexIssue = { kind: 'refused', detail: `${error?.type}: ${error?.reason}` };
      return [{ ...entry, document: identityDocument(entry.change.tenant, entry.change.resource, issue) }];
    });
    const final = new Map(entries.map((entry, position) => [entry.index, { entry, outcome: outcomes[position] }]));
    (await this.bulk(refused, options)).forEach((outcome, position) => final.set(refused[position].index, { entry: refused[position], outcome }));
    for (const { entry, outcome } of final.values()) {
      const { change, document } = entry;
      if (outcome.status < 300 && document?.indexIssues) {
        this.onIncomplete({ tenant: change.tenant, resourceType: change.resourceType, id: change.id, version: change.version, issues: document.indexIssues });
      }
      results[entry.index] = failureOf(outcome, change);
    }
    return results;
  }

  /** One bulk request: each entry's document indexed, or its deletion; the answers in order. */
  private async bulk(entries: readonly BulkEntry[], options: { refresh?: boolean }): Promise<BulkItemResult[]> {
    if (entries.length === 0) {
      return [];
    }
    const body = entries.flatMap(({ change, document }): unknown[] => {
      const target = {
        _index: this.index,
        _id: documentId(change.tenant, change.resourceType, change.id),
        routing: change.tenant,
        version: change.version,
        version_type: 'external',
      };
      return document ? [{ index: target }, document] : [{ delete: target }];
    });
    const response = await this.client.bulk({ body: body as never, refresh: options.refresh ? 'wait_for' : false });
    return (response.body as { items: Record<string, BulkItemResult>[] }).items.map((item) => Object.values(item)[0]);
  }
}

/** The full document within the limits; the identity document when the values cannot be extracted; an error without an id. */
function documentFor(change: IndexChange, resource: Resource): SearchDocument | IndexingError {
  try {
    return withinLimits(searchDocument(change.tenant, resource));
  } catch (error) {
    try {
      return identityDocument(change.tenant, resource, { kind: 'not-extracted', detail: (error as Error).message });
    } catch (identityError) {
      return new IndexingError(`Cannot index ${change.resourceType}/${change.id}: ${(identityError as Error).message}`, false);
    }
  }
}

function isIdentity(document: SearchDocument): boolean {
  return document.indexIssues?.some((issue) => issue.kind === 'refused' || issue.kind === 'not-extracted') ?? false;
}

/** OpenSearch refused this document itself (a mapping limit or conflict): sending it again cannot help. */
function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 404 && status !== 409 && status !== 429;
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
