/**
 * A tenant's audit trail against DynamoDB Local: pages in time order across days and shards,
 * each event once, other tenants' events never among them, and a count of the whole range.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { auditEvent, newAuditId } from '../../../core/audit/audit-event.js';
import { AuditLog } from '../../../core/audit/audit-log.js';
import { loadConfig } from '../../../core/config.js';
import { createDocumentClient } from '../../../core/storage/dynamo-client.js';
import { parseTenantId, type TenantId } from '../../../core/tenant.js';

const config = loadConfig(process.env);
const log = new AuditLog(createDocumentClient(config), config.tableName);

function event(tenant: TenantId, recorded: string) {
  return { tenant, event: auditEvent({ id: newAuditId(), tenant, interaction: 'read', recorded, status: 200, principal: 'tester', entities: ['Patient/p'] }) };
}

it('pages through a tenant’s events over several days in time order, each once, and counts them', async () => {
  const tenant = parseTenantId(`audit-${randomUUID().slice(0, 8)}`);
  const other = parseTenantId(`audit-other-${randomUUID().slice(0, 8)}`);
  const start = Date.parse('2026-03-01T20:00:00Z');
  // 130 events an hour apart: about five and a half days, every shard of each day.
  const times = Array.from({ length: 130 }, (_, i) => new Date(start + i * 3_600_000).toISOString());
  await log.recordMany([...times.map((recorded) => event(tenant, recorded)), ...times.slice(0, 40).map((recorded) => event(other, recorded))]);
  const range = { from: times[0]!, to: times.at(-1)! };

  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await log.query(tenant, range, { limit: 50, cursor });
    expect(page.events.length).toBeLessThanOrEqual(50);
    seen.push(...page.events.map((e) => e.recorded!));
    cursor = page.next;
  } while (cursor);

  expect(seen).toEqual(times);
  expect(await log.count(tenant, range)).toBe(130);
  expect(await log.count(tenant, { from: times[10]!, to: times[19]! })).toBe(10);
});
