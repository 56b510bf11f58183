/**
 * Where audit records live: in the FHIR table, one partition per tenant, UTC day and shard
 * (keys.ts), sorted by time. Recording is one PutItem on the request path (reads) or a batch
 * from the stream processor (writes), so the audit trail never depends on a downstream system
 * being up; the stream then publishes each record to the audit SNS topic.
 *
 * A query for a tenant and time range reads only that tenant's partitions of the days in range,
 * all shards in parallel, and merges them by time: its cost follows the events returned, not
 * the size of the table or of other tenants' trails.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient, PutCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { TenantId } from '../tenant.js';
import { decodeCursor, encodeCursor } from '../storage/cursor.js';
import { AUDIT_SHARDS, auditPK, auditSK } from '../storage/keys.js';
import { queryPages } from '../storage/paginate.js';

/** An AuditEvent as stored: its tenant beside it, so the stream needs no parsing to route it. */
export interface AuditItem {
  PK: string;
  SK: string;
  tenant: TenantId;
  recorded: string;
  event: AuditEvent;
}

export interface AuditPage {
  readonly events: AuditEvent[];
  /** Continue after the last event returned; absent on the last page. */
  readonly next?: string;
}

const BATCH_WRITE_LIMIT = 25;
const DAY_MS = 86_400_000;
/**
 * Days queried at once: a page starts with one day and doubles the window while it is short, so
 * a dense trail reads little beyond the page and a sparse one needs few round trips.
 */
const MAX_DAYS_IN_FLIGHT = 8;
const MAX_RANGE_DAYS = 3_660;

export class AuditLog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Stores one AuditEvent (its `id` and `recorded` must be set). Idempotent: the key is derived from both. */
  async record(tenant: TenantId, event: AuditEvent): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: auditItem(tenant, event) }));
  }

  /** Stores many, 25 to a request, retrying what DynamoDB leaves unprocessed; one alone (a single read's) is one PutItem. */
  async recordMany(events: readonly { tenant: TenantId; event: AuditEvent }[]): Promise<void> {
    if (events.length === 1) {
      await this.record(events[0].tenant, events[0].event);
      return;
    }
    const chunks: { tenant: TenantId; event: AuditEvent }[][] = [];
    for (let i = 0; i < events.length; i += BATCH_WRITE_LIMIT) {
      chunks.push(events.slice(i, i + BATCH_WRITE_LIMIT));
    }
    await Promise.all(
      chunks.map(async (chunk) => {
        let requests = chunk.map(({ tenant, event }) => ({ PutRequest: { Item: auditItem(tenant, event) } }));
        for (let attempt = 0; requests.length > 0; attempt++) {
          if (attempt > 0) {
            await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
          }
          const { UnprocessedItems } = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
          requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        }
      }),
    );
  }

  /** A tenant's AuditEvents with `from <= recorded <= to` (ISO instants), oldest first, `limit` at a time. */
  async query(tenant: TenantId, range: { from: string; to: string }, options: { limit: number; cursor?: string }): Promise<AuditPage> {
    const { from, to } = validRange(range);
    const after = options.cursor ? decodeCursor<{ k: string }>(options.cursor, { k: 'string' }).k : undefined;
    const days = daysBetween(after ? after.slice(0, 10) : from, to);
    const events: AuditItem[] = [];
    for (let i = 0, width = 1; i < days.length && events.length < options.limit; i += width, width = Math.min(width * 2, MAX_DAYS_IN_FLIGHT)) {
      const window = days.slice(i, i + width);
      const perDay = await Promise.all(window.map((day) => this.queryDay(tenant, day, from, to, after, options.limit - events.length)));
      for (const dayItems of perDay) {
        events.push(...dayItems.slice(0, options.limit - events.length));
      }
    }
    const last = events[events.length - 1];
    const more = last !== undefined && events.length === options.limit;
    return { events: events.map((item) => item.event), next: more ? encodeCursor({ k: last.SK }) : undefined };
  }

  /** How many events a tenant recorded in the range (reads keys only). */
  async count(tenant: TenantId, range: { from: string; to: string }): Promise<number> {
    const { from, to } = validRange(range);
    let total = 0;
    const days = daysBetween(from, to);
    for (let i = 0; i < days.length; i += MAX_DAYS_IN_FLIGHT) {
      const counts = await Promise.all(
        days.slice(i, i + MAX_DAYS_IN_FLIGHT).flatMap((day) => shards().map((shard) => this.countPartition(auditPK(tenant, day, shard), from, to))),
      );
      total += counts.reduce((sum, count) => sum + count, 0);
    }
    return total;
  }

  /** One day's events in time order: every shard's first `limit`, merged. */
  private async queryDay(tenant: TenantId, day: string, from: string, to: string, after: string | undefined, limit: number): Promise<AuditItem[]> {
    const perShard = await Promise.all(shards().map((shard) => this.queryPartition(auditPK(tenant, day, shard), after ? `${after} ` : from, to, limit)));
    return perShard
      .flat()
      .sort((a, b) => (a.SK < b.SK ? -1 : a.SK > b.SK ? 1 : 0))
      .slice(0, limit);
  }

  private async queryPartition(PK: string, lower: string, to: string, limit: number): Promise<AuditItem[]> {
    const items: AuditItem[] = [];
    for await (const page of queryPages(this.client, this.rangeQuery(PK, lower, to), { limit })) {
      items.push(...((page.Items ?? []) as AuditItem[]));
    }
    return items;
  }

  /** Reads keys only. */
  private async countPartition(PK: string, from: string, to: string): Promise<number> {
    let count = 0;
    for await (const page of queryPages(this.client, { ...this.rangeQuery(PK, from, to), Select: 'COUNT' })) {
      count += page.Count ?? 0;
    }
    return count;
  }

  /** One partition's records from `lower` to `to`. */
  private rangeQuery(PK: string, lower: string, to: string): QueryCommandInput {
    return {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :lower AND :upper',
      ExpressionAttributeValues: { ':pk': PK, ':lower': lower, ':upper': upperBound(to) },
    };
  }
}

export function auditItem(tenant: TenantId, event: AuditEvent): AuditItem {
  if (!event.id || !event.recorded) {
    throw new Error('An audit record needs an id and a recorded time');
  }
  const recorded = new Date(event.recorded).toISOString();
  return { PK: auditPK(tenant, recorded.slice(0, 10), shardOf(event.id)), SK: auditSK(recorded, event.id), tenant, recorded, event };
}

function shardOf(eventId: string): number {
  let hash = 0;
  for (const char of eventId) {
    hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  }
  return hash % AUDIT_SHARDS;
}

function shards(): number[] {
  return Array.from({ length: AUDIT_SHARDS }, (_, shard) => shard);
}

/** Every key recorded at `to` (whatever its event id) sorts below this. */
function upperBound(to: string): string {
  return `${to}#\uffff`;
}

function validRange(range: { from: string; to: string }): { from: string; to: string } {
  const from = Date.parse(range.from);
  const to = Date.parse(range.to);
  if (Number.isNaN(from) || Number.isNaN(to) || from > to) {
    throw FhirError.badRequest('An audit query needs a time range: from and to instants, from before to');
  }
  if ((to - from) / DAY_MS > MAX_RANGE_DAYS) {
    throw FhirError.badRequest(`An audit query spans at most ${MAX_RANGE_DAYS} days`);
  }
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** UTC days (yyyy-mm-dd) from the day of `from` to the day of `to`, inclusive. */
function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = Date.parse(`${from.slice(0, 10)}T00:00:00Z`); day <= Date.parse(to); day += DAY_MS) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}
