/** 4. Audit queries: a tenant's AuditEvents over 30 days (plus other tenants'), first pages and a count. */
import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';
import { auditEvent, newAuditId } from '../../../core/audit/audit-event.js';
import { config } from '../../../core/config.js';
import { resetDynamoUsage } from '../../../core/storage/dynamo-client.js';
import { AUDIT_SHARDS } from '../../../core/storage/keys.js';
import { parseTenantId, type TenantId } from '../../../core/tenant.js';
import { Components } from '../../../core/wiring.js';
import { mean, round, summarize } from '../stats.js';
import type { AuditFigures, AuditQueryFigures, StreamBenchOptions } from '../stream.js';
import { progress } from './setup.js';

const AUDIT_DAYS = 30;
const AUDIT_NOISE_TENANTS = 3;
/** AuditEvents per recordMany call: 20 BatchWriteItems in flight. */
const AUDIT_LOAD_SLICE = 500;
/** Runs (after warm-up) of each page query, and of the count, which reads the whole trail. */
const AUDIT_RUNS = { page: 10, count: 3 };
const AUDIT_WARMUP = { page: 2, count: 1 };
const DAY_MS = 86_400_000;

export async function benchAudit(options: StreamBenchOptions): Promise<AuditFigures> {
  const resolved = config();
  const log = new Components(resolved).auditLog;
  const tenant = parseTenantId('bench-audit');
  const noiseTenants = Array.from({ length: AUDIT_NOISE_TENANTS }, (_, i) => parseTenantId(`bench-audit-noise-${i + 1}`));
  // 30 whole UTC days ending yesterday.
  const firstDay = Math.floor(Date.now() / DAY_MS) * DAY_MS - AUDIT_DAYS * DAY_MS;
  const total = options.auditEvents + options.auditNoise;
  progress(`audit: BatchWrite ${options.auditEvents} events of ${tenant} + ${options.auditNoise} of ${AUDIT_NOISE_TENANTS} other tenants over ${AUDIT_DAYS} days`);
  const started = performance.now();
  let lastReport = started;
  for (let written = 0; written < total; written += AUDIT_LOAD_SLICE) {
    const slice = Array.from({ length: Math.min(AUDIT_LOAD_SLICE, total - written) }, (_, i) => {
      const index = written + i;
      // Exactly auditNoise events of other tenants, spread evenly among the measured tenant's.
      const noise = Math.floor(((index + 1) * options.auditNoise) / total) > Math.floor((index * options.auditNoise) / total);
      const owner = noise ? noiseTenants[index % noiseTenants.length]! : tenant;
      return { tenant: owner, event: syntheticAuditEvent(owner, firstDay + Math.random() * AUDIT_DAYS * DAY_MS) };
    });
    await log.recordMany(slice);
    if (performance.now() - lastReport > 15_000) {
      lastReport = performance.now();
      progress(`audit: ${written + slice.length} of ${total} written`);
    }
  }
  const loadSeconds = (performance.now() - started) / 1000;
  const events = await log.count(tenant, { from: new Date(firstDay).toISOString(), to: new Date(firstDay + AUDIT_DAYS * DAY_MS - 1).toISOString() });
  const noiseEvents = total - events;

  const range = (fromDay: number, days: number) => ({ from: new Date(firstDay + fromDay * DAY_MS).toISOString(), to: new Date(firstDay + (fromDay + days) * DAY_MS - 1).toISOString() });
  const oneDay = range(14, 1);
  const sevenDays = range(10, 7);
  const allDays = range(0, AUDIT_DAYS);
  const queries: AuditQueryFigures[] = [
    await timeAudit('first page (100), 1-day range', oneDay, 'page', async () => (await log.query(tenant, oneDay, { limit: 100 })).events.length),
    await timeAudit('first page (100), 7-day range', sevenDays, 'page', async () => (await log.query(tenant, sevenDays, { limit: 100 })).events.length),
    await timeAudit(`count, ${AUDIT_DAYS}-day range`, allDays, 'count', () => log.count(tenant, allDays)),
  ];
  const perShardDay = Math.round(events / AUDIT_DAYS / AUDIT_SHARDS);
  return {
    tenant,
    events,
    noiseEvents,
    noiseTenants: AUDIT_NOISE_TENANTS,
    days: AUDIT_DAYS,
    shards: AUDIT_SHARDS,
    loadSeconds: round(loadSeconds),
    eventsPerSecond: round(total / loadSeconds),
    queries,
    note:
      `Extrapolation: a query touches (days in range) × ${AUDIT_SHARDS} shard partitions of this tenant only (other tenants and table size never enter); ` +
      `a page asks every shard of up to 8 days at once for up to 100 events each, so it reads ≈ min(events in range, days-in-window × ${AUDIT_SHARDS} × 100) items ` +
      `(here ≈ ${perShardDay} events per shard-day) and its latency follows the parallel rounds, not the trail's size; count reads every key in range, ` +
      `so its keys read and RCU grow linearly with the tenant's events in range (about ${Math.round(events / AUDIT_DAYS)} a day here).`,
  };
}

function syntheticAuditEvent(tenant: TenantId, at: number): AuditEvent {
  const read = Math.random() < 0.7;
  return auditEvent({
    id: newAuditId(),
    tenant,
    interaction: read ? 'read' : 'update',
    recorded: new Date(at).toISOString(),
    status: 200,
    principal: `user-${Math.floor(Math.random() * 50)}`,
    entities: [`Patient/${randomUUID()}/_history/${1 + Math.floor(Math.random() * 5)}`],
    sourceAddress: '203.0.113.7',
  });
}

/** A count (Select COUNT) returns no items: the keys it reads are the count itself. */
async function timeAudit(name: string, range: { from: string; to: string }, kind: 'page' | 'count', run: () => Promise<number>): Promise<AuditQueryFigures> {
  progress(`audit: ${name}`);
  for (let i = 0; i < AUDIT_WARMUP[kind]; i++) {
    await run();
  }
  const samples: { ms: number; returned: number; requests: number; itemsRead: number; rcu: number }[] = [];
  for (let i = 0; i < AUDIT_RUNS[kind]; i++) {
    resetDynamoUsage();
    const started = performance.now();
    const returned = await run();
    const ms = performance.now() - started;
    const usage = resetDynamoUsage();
    samples.push({ ms, returned, requests: usage.requests, itemsRead: kind === 'count' ? returned : usage.itemsRead, rcu: usage.readCapacityUnits });
  }
  const last = samples[samples.length - 1]!;
  return {
    name,
    ...range,
    returned: last.returned,
    latencyMs: summarize(samples.map((sample) => sample.ms)),
    requests: round(mean(samples.map((sample) => sample.requests))),
    itemsRead: round(mean(samples.map((sample) => sample.itemsRead))),
    readCapacityUnits: round(mean(samples.map((sample) => sample.rcu))),
  };
}
