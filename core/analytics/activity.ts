/**
 * API activity from the audit log (core/audit/audit-log.ts): the tenant's AuditEvents of the last
 * days, read through its own day partitions, counted per day, interaction and outcome, with the
 * busiest subjects and source addresses.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { AuditLog } from '../audit/audit-log.js';
import type { TenantId } from '../tenant.js';
import type { ApiActivity } from './report.js';

const PAGE = 1000;
const TOP = 10;
const DAY_MS = 86_400_000;

function top(counts: Map<string, number>): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP);
}

function add(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

export async function apiActivity(auditLog: AuditLog, tenant: TenantId, asOf: string, days: number): Promise<ApiActivity> {
  const from = new Date(Date.parse(asOf) - days * DAY_MS).toISOString();
  const perDay = new Map<string, number>();
  const users = new Map<string, number>();
  const clients = new Map<string, number>();
  let events = 0;
  let cursor: string | undefined;
  do {
    const page = await auditLog.query(tenant, { from, to: asOf }, { limit: PAGE, cursor });
    for (const event of page.events) {
      events++;
      add(perDay, JSON.stringify([event.recorded.slice(0, 10), interactionOf(event), event.outcome ?? '']));
      add(users, event.agent?.[0]?.who?.identifier?.value ?? 'unknown');
      const address = event.agent?.[0]?.network?.address;
      if (address) {
        add(clients, address);
      }
    }
    cursor = page.next;
  } while (cursor);
  return {
    from,
    to: asOf,
    perDay: [...perDay]
      .map(([key, count]) => {
        const [day, interaction, outcome] = JSON.parse(key) as [string, string, string];
        return { day, interaction, outcome, count };
      })
      .sort((a, b) => (a.day + a.interaction + a.outcome < b.day + b.interaction + b.outcome ? -1 : 1)),
    topUsers: top(users).map(([who, count]) => ({ who, count })),
    topClients: top(clients).map(([address, count]) => ({ address, count })),
    events,
  };
}

function interactionOf(event: AuditEvent): string {
  return event.subtype?.[0]?.code ?? 'unknown';
}
