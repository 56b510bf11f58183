/**
 * Rebuilds the search index from the table, for recovery (a lost or corrupted index, a stream
 * backlog past its 24 hours, a mapping change): a parallel Scan of the CURRENT items, each
 * applied with its version as the stream processor would. Safe while the system runs: versioned
 * writes never regress a newer document the stream indexed meanwhile, and deletions are applied
 * as versioned deletes.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TenantId } from '../../tenant.js';
import { decodeBody } from '../../storage/body-codec.js';
import { CURRENT_SK, parseResourcePK, resourcePKPrefix } from '../../storage/keys.js';
import { scanPages } from '../../storage/paginate.js';
import type { StoredItem } from '../../storage/version-items.js';
import type { IndexChange, ResourceIndexer } from './indexer.js';

export interface ReindexOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly indexer: ResourceIndexer;
  /** Only this tenant's resources; every tenant when absent. */
  readonly tenant?: TenantId;
  /** Parallel Scan segments (default 8). */
  readonly segments?: number;
  /** Called after each scanned page with the items it read (of every kind). */
  readonly onProgress?: (scannedItems: number) => void;
}

export interface ReindexSummary {
  scannedItems: number;
  indexed: number;
  deleted: number;
  failed: number;
  /** The first few failures, for the operator. */
  failures: string[];
}

const DEFAULT_SEGMENTS = 8;
const MAX_REPORTED_FAILURES = 20;

export async function reindexTable(options: ReindexOptions): Promise<ReindexSummary> {
  const summary: ReindexSummary = { scannedItems: 0, indexed: 0, deleted: 0, failed: 0, failures: [] };
  const segments = options.segments ?? DEFAULT_SEGMENTS;
  await Promise.all(Array.from({ length: segments }, (_, segment) => reindexSegment(options, segment, segments, summary)));
  return summary;
}

async function reindexSegment(options: ReindexOptions, segment: number, segments: number, summary: ReindexSummary): Promise<void> {
  const currentItems = scanPages(options.client, {
    TableName: options.tableName,
    Segment: segment,
    TotalSegments: segments,
    // Placeholders of uncommitted creations have no version: nothing to index yet.
    FilterExpression: `SK = :current AND attribute_exists(version)${options.tenant ? ' AND begins_with(PK, :prefix)' : ''}`,
    ExpressionAttributeValues: { ':current': CURRENT_SK, ...(options.tenant ? { ':prefix': resourcePKPrefix(options.tenant) } : {}) },
  });
  for await (const page of currentItems) {
    const changes = (page.Items ?? []).flatMap((item) => {
      const change = indexChangeOf(item as StoredItem);
      return change ? [change] : [];
    });
    const results = await options.indexer.apply(changes);
    results.forEach((error, i) => {
      if (error) {
        summary.failed++;
        if (summary.failures.length < MAX_REPORTED_FAILURES) {
          summary.failures.push(error.message);
        }
      } else if (changes[i].resource) {
        summary.indexed++;
      } else {
        summary.deleted++;
      }
    });
    summary.scannedItems += page.ScannedCount ?? 0;
    options.onProgress?.(page.ScannedCount ?? 0);
  }
}

/** A CURRENT item as the change the index must reflect: its committed version (a `pendingTx` mark does not change it). */
function indexChangeOf(item: StoredItem): IndexChange | undefined {
  const key = parseResourcePK(item.PK);
  if (!key) {
    return undefined;
  }
  const version = Number(item.version);
  return item.deleted || !item.body ? { ...key, version } : { ...key, version, resource: decodeBody(item.body) };
}
