/**
 * The stream processor's work on one batch of the table's stream: index every resource change
 * into OpenSearch, record an AuditEvent for it, publish a change event, and publish every new
 * audit record (of writes and of reads) to the audit topic.
 *
 * The batch is handled in bulk (one bulk request, one batch of audit writes, PublishBatch) and
 * the result says which records failed, so the caller reports exactly those and the event source
 * retries from the first of them. Every step is idempotent under retry: indexing is versioned,
 * audit keys are derived from the version, and events carry stable ids for de-duplication.
 *
 * The tenants of the batch's changes are recorded in the tenant registry, where scheduled jobs
 * list tenants. The recent-change items of the indexed changes are marked indexed, and those no
 * search needs any more are removed (storage/recent-changes.ts), without ever waiting for it.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { TenantId } from '../tenant.js';
import { auditEvent, type AuditedInteraction, writeAuditId, uuidFrom } from '../audit/audit-event.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { EventPublisher, OutgoingEvent } from '../events/publisher.js';
import type { ResourceIndexer } from '../search/opensearch/indexer.js';
import { INDEX_REFRESH_MS } from '../search/opensearch/mapping.js';
import type { IndexedChange, RecentChanges } from '../storage/recent-changes.js';
import type { TenantRegistry } from '../storage/tenant-registry.js';
import { versionReference } from '../fhir/result-bundles.js';
import { type ResourceChange, type StreamChange, type TableStreamRecord, streamChangeOf } from './changes.js';

export interface StreamProcessorDependencies {
  /** Absent when no OpenSearch is configured: changes are then only audited and published. */
  readonly indexer?: ResourceIndexer;
  readonly auditLog: AuditLog;
  readonly publisher: EventPublisher;
  /** Finishes a tenant's abandoned large transactions (repository.recoverTransactions). */
  readonly recoverTransactions?: (tenant: TenantId) => Promise<unknown>;
  /** Where the tenants with data are listed; absent: not recorded. */
  readonly tenantRegistry?: TenantRegistry;
  /** Marks and removes recent-change items as their changes become searchable; absent: they expire (TTL). */
  readonly recentChanges?: RecentChanges;
  readonly now?: () => number;
}

/** A tenant's abandoned transactions are looked for at most this often per process. */
const RECOVERY_INTERVAL_MS = 60_000;

/** Why each failed record failed, by sequence number; records not in the map succeeded. */
export type BatchFailures = Map<string, Error>;

export class StreamProcessor {
  private readonly lastRecovery = new Map<TenantId, number>();
  /**
   * Recent-change items of processed changes that some search may still need, with when none will:
   * removed by a later batch. One per resource: a newer change's removal replaces an older one's,
   * which could only fail its condition (a replayed older change replaces nothing).
   */
  private readonly pendingRemovals = new Map<string, { readonly change: IndexedChange; readonly dueAt: number }>();

  constructor(private readonly dependencies: StreamProcessorDependencies) {}

  async process(records: readonly TableStreamRecord[]): Promise<BatchFailures> {
    const failures: BatchFailures = new Map();
    const classified: { record: TableStreamRecord; change: StreamChange }[] = [];
    for (const record of records) {
      try {
        const change = streamChangeOf(record);
        if (change) {
          classified.push({ record, change });
        }
      } catch (error) {
        failures.set(record.sequenceNumber, error as Error);
      }
    }
    const resources = classified.flatMap((item) => (item.change.kind === 'resource' ? [{ record: item.record, change: item.change.change }] : []));
    const audits = classified.flatMap((item) => (item.change.kind === 'audit' ? [{ record: item.record, event: item.change.event, tenant: item.change.tenant }] : []));

    await this.index(resources, failures);
    const indexedAt = this.now();
    // Only indexing decides whether a change's item may be marked and later go: done beside the rest.
    const settling = this.settleRecentChanges(resources.filter(({ record }) => !failures.has(record.sequenceNumber)), indexedAt);
    // Every committed write is audited and announced, indexed or not: neither the audit trail
    // nor subscribers may depend on OpenSearch, or a change dead-lettered during an outage would
    // never be audited or announced. A retry rewrites the same audit records (their keys derive
    // from the version) and republishes the same event ids.
    await this.auditWrites(resources, failures);
    await this.registerTenants(resources, failures);

    const outgoing: { record: TableStreamRecord; event: OutgoingEvent }[] = [
      ...resources.map(({ record, change }) => ({ record, event: changeEvent(change) })),
      ...audits.map(({ record, event, tenant }) => ({ record, event: auditTopicEvent(tenant, event) })),
    ];
    const published = await this.dependencies.publisher.publish(outgoing.map(({ event }) => event));
    published.forEach((error, index) => {
      if (error) {
        failures.set(outgoing[index].record.sequenceNumber, error);
      }
    });

    await this.recover(classified.flatMap(({ change }) => (change.kind === 'transaction' ? [change.tenant] : change.kind === 'resource' ? [change.change.tenant] : [])));
    await settling;
    return failures;
  }

  private now(): number {
    return (this.dependencies.now ?? Date.now)();
  }

  /**
   * Marks the recent-change items of these indexed changes (OpenSearch searches leave them to the
   * index once it has refreshed) and removes every item no search needs any more: indexed a
   * refresh interval ago and written `settleMs` ago, the bound assumed for GSI propagation. Never
   * waits: an item not due yet is removed by a later batch, and until then costs a search only its
   * key read. A change already settled when the index will have refreshed (a backlog) is not
   * marked: its item becomes removable at the same moment. A failed removal is retried at a
   * later batch; a failed mark, or a processor that stops first, leaves items that only make
   * searches re-read a resource until a later change of it or the TTL removes them, so it fails
   * nothing.
   */
  private async settleRecentChanges(indexed: readonly { change: ResourceChange }[], indexedAt: number): Promise<void> {
    const { recentChanges, indexer } = this.dependencies;
    if (!recentChanges) {
      return;
    }
    const searchableAt = indexer ? indexedAt + INDEX_REFRESH_MS : -Infinity;
    const toMark: IndexedChange[] = [];
    for (const { change } of indexed) {
      const key = { tenant: change.tenant, resourceType: change.resourceType, id: change.id, version: change.version };
      // The GSIs' settle time runs from the write that gave the version its index keys: for a
      // large transaction's, its finalizing, which happened before this batch was read.
      const settledAt = (change.finalized ? indexedAt : Date.parse(change.lastUpdated)) + recentChanges.settleMs;
      if (indexer && settledAt > searchableAt) {
        toMark.push(key);
      }
      // Without a settle bound an item counts for the GSIs until the TTL removes it.
      if (Number.isFinite(settledAt)) {
        const resource = `${key.tenant}|${key.resourceType}/${key.id}`;
        if ((this.pendingRemovals.get(resource)?.change.version ?? 0) < key.version) {
          this.pendingRemovals.set(resource, { change: key, dueAt: Math.max(settledAt, searchableAt) });
        }
      }
    }
    const now = this.now();
    const due = [...this.pendingRemovals].filter(([, removal]) => removal.dueAt <= now);
    due.forEach(([resource]) => this.pendingRemovals.delete(resource));
    await Promise.all([
      toMark.length > 0 ? recentChanges.markIndexed(toMark, indexedAt).catch(() => undefined) : undefined,
      // A failed removal (DynamoDB busy) is tried again at a later batch, unless a newer version's is pending by then.
      due.length > 0
        ? recentChanges.forget(due.map(([, { change }]) => change)).catch(() => due.forEach(([resource, removal]) => this.pendingRemovals.has(resource) || this.pendingRemovals.set(resource, removal)))
        : undefined,
    ]);
  }

  private async index(resources: readonly { record: TableStreamRecord; change: ResourceChange }[], failures: BatchFailures): Promise<void> {
    const { indexer } = this.dependencies;
    if (!indexer || resources.length === 0) {
      return;
    }
    try {
      const results = await indexer.apply(
        resources.map(({ change }) => ({ tenant: change.tenant, resourceType: change.resourceType, id: change.id, version: change.version, resource: change.resource })),
      );
      results.forEach((error, index) => {
        if (error) {
          failures.set(resources[index].record.sequenceNumber, error);
        }
      });
    } catch (error) {
      // OpenSearch unreachable: every change waits for the retry.
      for (const { record } of resources) {
        failures.set(record.sequenceNumber, error as Error);
      }
    }
  }

  /** Stores the AuditEvent of each write; the stream brings each record back to be published. */
  private async auditWrites(resources: readonly { record: TableStreamRecord; change: ResourceChange }[], failures: BatchFailures): Promise<void> {
    await allOrNone(resources, failures, () => this.dependencies.auditLog.recordMany(resources.map(({ change }) => ({ tenant: change.tenant, event: writeAudit(change) }))));
  }

  /** Records the tenants of these changes; a tenant left unrecorded fails its batch, so the retry records it. */
  private async registerTenants(resources: readonly { record: TableStreamRecord; change: ResourceChange }[], failures: BatchFailures): Promise<void> {
    const { tenantRegistry } = this.dependencies;
    if (tenantRegistry) {
      await allOrNone(resources, failures, () => tenantRegistry.register(resources.map(({ change }) => change.tenant)));
    }
  }

  /** Sweeps abandoned transactions of the tenants seen, at most once a minute each; a failed sweep is retried next time. */
  private async recover(tenants: readonly TenantId[]): Promise<void> {
    const { recoverTransactions } = this.dependencies;
    if (!recoverTransactions) {
      return;
    }
    const now = this.now();
    const due = [...new Set(tenants)].filter((tenant) => now - (this.lastRecovery.get(tenant) ?? -Infinity) >= RECOVERY_INTERVAL_MS);
    for (const tenant of due) {
      this.lastRecovery.set(tenant, now);
    }
    await Promise.all(due.map((tenant) => recoverTransactions(tenant).catch(() => this.lastRecovery.delete(tenant))));
  }
}

/** A step for every change of the batch at once: if it fails, each of them has failed. */
async function allOrNone(resources: readonly { record: TableStreamRecord }[], failures: BatchFailures, step: () => Promise<unknown>): Promise<void> {
  if (resources.length === 0) {
    return;
  }
  try {
    await step();
  } catch (error) {
    for (const { record } of resources) {
      failures.set(record.sequenceNumber, error as Error);
    }
  }
}

const WRITE_INTERACTIONS: Record<ResourceChange['method'], AuditedInteraction> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

export function writeAudit(change: ResourceChange): AuditEvent {
  return auditEvent({
    id: writeAuditId(change.tenant, versionReference(change)),
    tenant: change.tenant,
    // An update that created the resource is audited as what it did.
    interaction: change.action === 'create' ? 'create' : WRITE_INTERACTIONS[change.method],
    recorded: change.lastUpdated,
    status: change.action === 'create' ? 201 : 200,
    principal: change.author ?? 'unknown',
    entities: [versionReference(change)],
  });
}

/** SNS caps a message at 256 KB: larger resources are announced without their body. */
const MAX_EMBEDDED_RESOURCE_CHARS = 200_000;

export function changeEvent(change: ResourceChange): OutgoingEvent {
  const resourceJson = change.resource && JSON.stringify(change.resource);
  const embedded = resourceJson !== undefined && resourceJson.length <= MAX_EMBEDDED_RESOURCE_CHARS;
  const eventId = uuidFrom(`change|${change.tenant}|${versionReference(change)}`);
  return {
    topic: 'changes',
    eventId,
    tenantId: change.tenant,
    resourceType: change.resourceType,
    action: change.action,
    body: {
      eventId,
      tenantId: change.tenant,
      action: change.action,
      resourceType: change.resourceType,
      id: change.id,
      versionId: String(change.version),
      lastUpdated: change.lastUpdated,
      author: change.author,
      reference: versionReference(change),
      ...(embedded ? { resource: change.resource } : {}),
    },
  };
}

function auditTopicEvent(tenant: TenantId, event: AuditEvent): OutgoingEvent {
  const what = event.entity?.find((entity) => entity.what?.reference)?.what?.reference;
  return {
    topic: 'audit',
    eventId: event.id as string,
    tenantId: tenant,
    // A search or history names its type in its query's path; a read in the resource it read.
    resourceType: auditedType(event) ?? what?.split('/')[0] ?? 'none',
    action: event.subtype?.[0]?.code ?? 'unknown',
    body: event,
  };
}

function auditedType(event: AuditEvent): string | undefined {
  const query = event.entity?.find((entity) => entity.query)?.query;
  const path = query ? Buffer.from(query, 'base64').toString('utf8') : undefined;
  return path?.match(/^\/?([A-Z][A-Za-z]+)/)?.[1];
}
