/**
 * What a record of the table's stream means. The table holds several kinds of items (keys.ts);
 * only two kinds of record mean something downstream:
 *
 * - a CURRENT item that now holds a committed version it did not hold before: a resource was
 *   created, updated or deleted. A CURRENT item marked `pendingTx` still holds the committed
 *   version (the staged one is elsewhere), a placeholder holds none, and a marker added or
 *   removed leaves the version as it was: none of those is a change. A large transaction's
 *   changes therefore appear when it is finalized, never when it is staged or rolled back.
 * - a new audit record: an AuditEvent to publish.
 *
 * VERSION, STAGED and LOOKUP items and transaction records are the table's own bookkeeping; a
 * transaction record only tells which tenant may have transactions to recover.
 */
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import type { TenantId } from '../tenant.js';
import { decodeBody } from '../storage/body-codec.js';
import { CURRENT_SK, TRANSACTION_SK, parseAuditPK, parseResourcePK, parseTransactionPK } from '../storage/keys.js';
import type { StoredItem, WriteMethod } from '../storage/version-items.js';

/** A stream record with its images unmarshalled (binary attributes as bytes). */
export interface TableStreamRecord {
  readonly sequenceNumber: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys: { readonly PK: string; readonly SK: string };
  readonly newImage?: Record<string, unknown>;
  readonly oldImage?: Record<string, unknown>;
}

export type ChangeAction = 'create' | 'update' | 'delete';

export interface ResourceChange {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
  readonly version: number;
  readonly action: ChangeAction;
  readonly method: WriteMethod;
  readonly lastUpdated: string;
  /**
   * Finalized by a large transaction (its CURRENT was marked): the version reached its final
   * index keys at this write, which may be long after `lastUpdated`, the transaction's time.
   */
  readonly finalized?: true;
  readonly author?: string;
  /** Absent for a deletion. */
  readonly resource?: Resource;
}

export type StreamChange =
  | { readonly kind: 'resource'; readonly change: ResourceChange }
  | { readonly kind: 'audit'; readonly tenant: TenantId; readonly event: AuditEvent }
  | { readonly kind: 'transaction'; readonly tenant: TenantId };

/** What `record` means downstream; undefined when nothing. */
export function streamChangeOf(record: TableStreamRecord): StreamChange | undefined {
  const { PK, SK } = record.keys;
  if (SK === CURRENT_SK) {
    const change = resourceChangeOf(record);
    return change && { kind: 'resource', change };
  }
  if (SK === TRANSACTION_SK) {
    const transaction = parseTransactionPK(PK);
    return transaction && { kind: 'transaction', tenant: transaction.tenant };
  }
  const audit = parseAuditPK(PK);
  if (audit && record.eventName === 'INSERT' && record.newImage?.event) {
    return { kind: 'audit', tenant: audit.tenant, event: record.newImage.event as AuditEvent };
  }
  return undefined;
}

function resourceChangeOf(record: TableStreamRecord): ResourceChange | undefined {
  const key = parseResourcePK(record.keys.PK);
  const next = storedVersionOf(record.newImage);
  if (!key || !next) {
    return undefined;
  }
  const previous = storedVersionOf(record.oldImage);
  if (previous && Number(previous.version) === Number(next.version)) {
    return undefined;
  }
  const existedBefore = previous !== undefined && !previous.deleted;
  return {
    tenant: key.tenant,
    resourceType: key.resourceType,
    id: key.id,
    version: Number(next.version),
    action: next.deleted ? 'delete' : existedBefore ? 'update' : 'create',
    method: next.method,
    lastUpdated: next.lastUpdated,
    ...(record.oldImage?.pendingTx === undefined ? {} : { finalized: true }),
    ...(next.author === undefined ? {} : { author: next.author }),
    ...(next.body && !next.deleted ? { resource: decodeBody(next.body) } : {}),
  };
}

/** The committed version a CURRENT image holds; undefined for a placeholder or no image. */
function storedVersionOf(image: Record<string, unknown> | undefined): StoredItem | undefined {
  return image && 'version' in image ? (image as unknown as StoredItem) : undefined;
}
