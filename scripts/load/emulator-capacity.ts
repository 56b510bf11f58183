/**
 * DynamoDB Local's own capacity on this machine, measured in the same run as the load phases, so
 * that each phase can be read as a share of what the emulator could serve it (absolute figures
 * drift between runs on a shared machine; ratios measured together hold).
 *
 * Each probe sends, with the same SDK client the handlers use (core/storage/dynamo-client.ts), the
 * very requests an interaction makes, with its items (a create's TransactWriteItems from
 * core/storage/version-items.ts, a read audit's item from core/audit/), at the load's concurrency,
 * for a fixed time, into a scratch table of the FHIR schema (`ensureTable`) that is deleted after.
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Resource } from '@medplum/fhirtypes';
import { auditEvent, newAuditId } from '../../core/audit/audit-event.js';
import { auditItem } from '../../core/audit/audit-log.js';
import { createDocumentClient } from '../../core/storage/dynamo-client.js';
import { CURRENT_SK, gsi3TypePartition, resourcePK } from '../../core/storage/keys.js';
import { FHIR_TABLE } from '../../core/storage/table-schema.js';
import { directWriteItems, planVersion } from '../../core/storage/version-items.js';
import { parseTenantId } from '../../core/tenant.js';
import { round } from '../bench/stats.js';
import { LOCAL_REGION, localCredentialsEnv } from '../local/credentials.js';
import { ensureTable } from '../local/table.js';

/** The requests the phases are made of. */
export const PROBES = ['GetItem', 'PutItem', 'TransactWriteItems', 'Query', 'BatchGetItem', 'BatchWriteItem'] as const;
export type Probe = (typeof PROBES)[number];

export interface ProbeFigures {
  readonly probe: Probe;
  /** What one request carries. */
  readonly shape: string;
  readonly requestsPerSecond: number;
  /** Items written or read per second (BatchWriteItem: 25 a request). */
  readonly itemsPerSecond: number;
  /** CPU milliseconds per request of DynamoDB Local and of the client, when the emulator's process is known. */
  readonly cpuMsPerRequest?: Record<string, number>;
}

export interface EmulatorCapacity {
  readonly concurrency: number;
  readonly secondsPerProbe: number;
  /** Items one new resource needs (a create's TransactWriteItems), the unit of the ingest bound. */
  readonly itemsPerNewResource: number;
  readonly probes: readonly ProbeFigures[];
}

const BATCH_WRITE_ITEMS = 25;
/** A search page of the load (`_count=10`). */
const PAGE_ITEMS = 10;
const SEEDED_RESOURCES = 200;

const PROBE_PATIENT = (i: number): Resource => ({
  resourceType: 'Patient',
  id: `p${i}`,
  name: [{ family: 'Probe', given: [`G${i}`] }],
  gender: 'female',
  birthDate: `19${String(i % 100).padStart(2, '0')}-01-01`,
});

export async function measureEmulatorCapacity(options: {
  endpoint: string;
  concurrency: number;
  seconds: number;
  cpuMeter?: () => () => Record<string, number>;
}): Promise<EmulatorCapacity> {
  Object.assign(process.env, localCredentialsEnv());
  const client = createDocumentClient({ region: process.env.AWS_REGION || LOCAL_REGION, dynamoEndpoint: options.endpoint });
  const tableName = `load-probe-${randomUUID().slice(0, 8)}`;
  const tenant = parseTenantId('load-probe');
  await ensureTable(client, tableName);
  try {
    let sequence = 0;
    const createItems = () => {
      const i = sequence++;
      return directWriteItems(tableName, planVersion({ tenant, resourceType: 'Patient', id: `p${i}` }, { kind: 'absent' }, 'POST', PROBE_PATIENT(i), 'load-probe'));
    };
    // What the reads find: resources written as a create writes them.
    for (let i = 0; i < SEEDED_RESOURCES; i += 1) {
      await client.send(new TransactWriteCommand({ TransactItems: createItems() }));
    }
    const itemsPerNewResource = createItems().length;
    const seededKey = (i: number) => ({ PK: resourcePK(tenant, 'Patient', `p${i % SEEDED_RESOURCES}`), SK: CURRENT_SK });
    const putsOf = (transactItems: ReturnType<typeof createItems>) => transactItems.flatMap((item) => (item.Put ? [{ PutRequest: { Item: item.Put.Item } }] : []));
    const typeIndex = FHIR_TABLE.globalIndexes.find((index) => index.name === 'GSI3')!;
    const requestOf: Record<Probe, { shape: string; items: number; send: (i: number) => Promise<unknown> }> = {
      GetItem: { shape: 'a CURRENT item, strongly consistent', items: 1, send: (i) => client.send(new GetCommand({ TableName: tableName, Key: seededKey(i), ConsistentRead: true })) },
      PutItem: { shape: 'a read audit record', items: 1, send: () => client.send(new PutCommand({ TableName: tableName, Item: auditItem(tenant, probeAudit(tenant)) })) },
      TransactWriteItems: { shape: `a create: ${itemsPerNewResource} items, conditional`, items: itemsPerNewResource, send: () => client.send(new TransactWriteCommand({ TransactItems: createItems() })) },
      Query: {
        shape: `${PAGE_ITEMS} keys of a type's ${typeIndex.name} partition`,
        items: PAGE_ITEMS,
        send: () =>
          client.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: typeIndex.name,
              KeyConditionExpression: `${typeIndex.partitionKey} = :pk`,
              ExpressionAttributeValues: { ':pk': gsi3TypePartition(tenant, 'Patient') },
              ScanIndexForward: false,
              Limit: PAGE_ITEMS,
            }),
          ),
      },
      BatchGetItem: {
        shape: `${PAGE_ITEMS} CURRENT items`,
        items: PAGE_ITEMS,
        send: (i) => client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: Array.from({ length: PAGE_ITEMS }, (_, k) => seededKey(i * PAGE_ITEMS + k)) } } })),
      },
      BatchWriteItem: {
        shape: `${BATCH_WRITE_ITEMS} items of new resources`,
        items: BATCH_WRITE_ITEMS,
        send: () => {
          const items: ReturnType<typeof putsOf> = [];
          while (items.length < BATCH_WRITE_ITEMS) {
            items.push(...putsOf(createItems()));
          }
          return client.send(new BatchWriteCommand({ RequestItems: { [tableName]: items.slice(0, BATCH_WRITE_ITEMS) } }));
        },
      },
    };
    const probes: ProbeFigures[] = [];
    for (const probe of PROBES) {
      const { shape, items, send } = requestOf[probe];
      const { perSecond, requests, cpuMs } = await closedLoop(send, options.concurrency, options.seconds, options.cpuMeter);
      const cpuMsPerRequest = cpuMs && {
        'dynamodb-local': round((cpuMs['dynamodb-local'] ?? 0) / requests),
        'load client': round((cpuMs['load client'] ?? 0) / requests),
      };
      probes.push({ probe, shape, requestsPerSecond: round(perSecond), itemsPerSecond: round(perSecond * items), ...(cpuMsPerRequest ? { cpuMsPerRequest } : {}) });
    }
    return { concurrency: options.concurrency, secondsPerProbe: options.seconds, itemsPerNewResource, probes };
  } finally {
    await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    client.destroy();
  }
}

/** `concurrency` workers sending back to back for `seconds` (after a short warm-up): requests, their rate, and the CPU spent. */
async function closedLoop(
  send: (i: number) => Promise<unknown>,
  concurrency: number,
  seconds: number,
  cpuMeter?: () => () => Record<string, number>,
): Promise<{ perSecond: number; requests: number; cpuMs?: Record<string, number> }> {
  let sequence = 0;
  const run = async (until: number) => {
    let requests = 0;
    const worker = async () => {
      while (performance.now() < until) {
        await send(sequence++);
        requests += 1;
      }
    };
    const stopMeter = cpuMeter?.();
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const perSecond = requests / ((performance.now() - started) / 1000);
    return { perSecond, requests, cpuMs: stopMeter?.() };
  };
  await run(performance.now() + Math.min(500, seconds * 250));
  return run(performance.now() + seconds * 1000);
}

function probeAudit(tenant: ReturnType<typeof parseTenantId>) {
  return auditEvent({
    id: newAuditId(),
    tenant,
    interaction: 'read',
    recorded: new Date().toISOString(),
    status: 200,
    principal: 'load-probe',
    entities: ['Patient/p0/_history/1'],
    sourceAddress: '127.0.0.1',
  });
}
