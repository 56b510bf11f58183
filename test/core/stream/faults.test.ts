/**
 * The stream processor under faults, on real parts: each test has a table of its own on DynamoDB
 * Local, an index of its own on the run's OpenSearch node, its own SNS/SQS (fauxqs) with one
 * subscriber queue per topic, and the local stream poller standing in for Lambda's event source
 * mapping (retries, bisection, dead-lettering). The processor is built here from its parts, so a
 * test can break one (an OpenSearch or SNS client aimed at a closed port), let the stream back
 * up, heal it and check what a user would: the index equals the table, and every change and
 * audit event arrived at least once, under a stable id.
 */
// The handler logs every failed record at ERROR, which these tests cause on purpose: silence its
// logger (created when its module loads) unless a level other than the run's default was asked for.
const { logLevel } = vi.hoisted(() => {
  const level = process.env.POWERTOOLS_LOG_LEVEL;
  if (level === undefined || level === 'WARN') {
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  }
  return { logLevel: level };
});

import { randomUUID } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import { Client } from '@opensearch-project/opensearch';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { writeAuditId } from '../../../core/audit/audit-event.js';
import { AuditLog } from '../../../core/audit/audit-log.js';
import { loadConfig } from '../../../core/config.js';
import { EventPublisher, type OutgoingEvent } from '../../../core/events/publisher.js';
import { parseSearchRequest } from '../../../core/fhir/interactions.js';
import { documentId } from '../../../core/search/opensearch/document.js';
import { OpenSearchEngine } from '../../../core/search/opensearch/engine.js';
import { type IndexChange, ResourceIndexer } from '../../../core/search/opensearch/indexer.js';
import { ensureIndex } from '../../../core/search/opensearch/mapping.js';
import { createDocumentClient } from '../../../core/storage/dynamo-client.js';
import { CURRENT_SK, resourcePK } from '../../../core/storage/keys.js';
import { ResourceRepository } from '../../../core/storage/repository.js';
import { StreamProcessor, type StreamProcessorDependencies } from '../../../core/stream/processor.js';
import { parseTenantId, type TenantId } from '../../../core/tenant.js';
import { STREAM_PROCESSOR } from '../../../functions/routes.js';
import { streamHandler } from '../../../functions/stream-processor.js';
import { localDynamoDbClient } from '../../../scripts/local/dynamodb-local.js';
import { lambdaContext } from '../../../scripts/local/http-server.js';
import { startLocalMessaging, subscribeQueue } from '../../../scripts/local/messaging.js';
import type { StreamPoller, StreamPollerOptions } from '../../../scripts/local/stream-poller.js';
import { type StreamLambda, startLocalStreamProcessing } from '../../../scripts/local/stream-processing.js';
import { ensureLocalTable } from '../../../scripts/local/table.js';
import { indexedVersions, receiveAll, tableVersions } from '../../support/stream.js';

if (logLevel === undefined) {
  delete process.env.POWERTOOLS_LOG_LEVEL;
} else {
  process.env.POWERTOOLS_LOG_LEVEL = logLevel;
}

const endpoint = process.env.DYNAMODB_ENDPOINT as string;
const openSearchUrl = inject('openSearchUrl');
/** Nothing listens here: a dependency aimed at it is down. */
const CLOSED_PORT = 'http://127.0.0.1:1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const AUTHOR = 'alice@example.org';
/** Fast retries, and never a dead letter unless a test asks for one. */
const RETRY_FOREVER = { maximumRetryAttempts: -1, retryBackoff: { initialMs: 10, maxMs: 100 } } as const;

interface ChangeMessage {
  eventId: string;
  action: string;
  reference: string;
  resourceType: string;
  id: string;
  versionId: string;
}


/** Waits, without asserting on time, until `condition` holds (a timeout fails the test). */
async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const unique = <T>(values: readonly T[]) => [...new Set(values)].sort();

/**
 * A test's own table, index, topics and subscribers, a healthy processor over them and parts
 * that are down; everything is torn down when the test finishes.
 */
async function rig(name: string) {
  const suffix = randomUUID().slice(0, 8);
  const tableName = `faults-${name}-${suffix}`;
  const index = `fhir-faults-${suffix}`;
  const tenant: TenantId = parseTenantId(`${name}-${suffix}`);

  await ensureLocalTable(endpoint, tableName);
  const documents = createDocumentClient(loadConfig({ ...process.env, FHIR_TABLE_NAME: tableName }));
  const repository = new ResourceRepository(documents, tableName);
  const auditLog = new AuditLog(documents, tableName);
  const search = new Client({ node: openSearchUrl });
  await ensureIndex(search, index);
  const messaging = await startLocalMessaging();
  const changeQueue = await subscribeQueue(messaging, messaging.changeTopicArn);
  const auditQueue = await subscribeQueue(messaging, messaging.auditTopicArn);
  const topics = { changeTopicArn: messaging.changeTopicArn, auditTopicArn: messaging.auditTopicArn };
  const sns = new SNSClient({ endpoint: messaging.endpoint, region: messaging.region, credentials: LOCAL_CREDENTIALS });
  const deadSns = new SNSClient({ endpoint: CLOSED_PORT, region: messaging.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadSearch = new Client({ node: CLOSED_PORT, maxRetries: 0 });

  const healthyParts: StreamProcessorDependencies = {
    indexer: new ResourceIndexer(search, index),
    auditLog,
    publisher: new EventPublisher(sns, { ...topics, snsEndpoint: messaging.endpoint }),
  };
  const downParts = {
    indexer: new ResourceIndexer(deadSearch, index),
    publisher: new EventPublisher(deadSns, { ...topics, snsEndpoint: CLOSED_PORT }),
  };
  const healthy = new StreamProcessor(healthyParts);
  let current = healthy;
  const pollers: StreamPoller[] = [];
  const deadLetters: DynamoDBRecord[] = [];
  /** `Type/id/_history/n` of every version written, in order. */
  const written: string[] = [];

  onTestFinished(async () => {
    await Promise.all(pollers.map((poller) => poller.stop()));
    await messaging.stop();
    sns.destroy();
    deadSns.destroy();
    await search.indices.delete({ index });
    await search.close();
    await deadSearch.close();
    const tables = localDynamoDbClient(endpoint);
    await tables.send(new DeleteTableCommand({ TableName: tableName })).finally(() => tables.destroy());
  });

  const r = {
    tenant,
    tableName,
    index,
    search,
    documents,
    repository,
    auditLog,
    healthyParts,
    downParts,
    healthy,
    written,
    deadLetters,
    /** The processor the stream handler uses from its next batch on. */
    use(processor: StreamProcessor) {
      current = processor;
    },
    /** The deployed handler, over whichever processor is in use. */
    handler: streamHandler(() => current) as StreamLambda,
    /** The poller (event source mapping) over `handler`, unless another handler is given. */
    async startPoller(options: Partial<Omit<StreamPollerOptions, 'handler'>> & { handler?: StreamLambda } = {}): Promise<StreamPoller> {
      const poller = await startLocalStreamProcessing({
        endpoint,
        tableName,
        handler: r.handler,
        onDeadLetter: (record) => {
          deadLetters.push(record);
        },
        ...RETRY_FOREVER,
        ...options,
      });
      pollers.push(poller);
      return poller;
    },
    async put(resource: Resource) {
      const result = await repository.write({ tenant, resourceType: resource.resourceType, id: resource.id as string }, { author: AUTHOR }, () => ({ kind: 'write', method: 'PUT', resource }));
      written.push(`${resource.resourceType}/${resource.id}/_history/${result.version!.version}`);
      return result.version!;
    },
    async remove(resourceType: string, id: string) {
      const result = await repository.write({ tenant, resourceType, id }, { author: AUTHOR }, (current) => (current?.deleted ? { kind: 'unchanged', result: current } : { kind: 'write', method: 'DELETE' }));
      if (result.written) {
        written.push(`${resourceType}/${id}/_history/${result.version!.version}`);
      }
      return result.version!;
    },
    async expectIndexEqualsTable() {
      const inTable = await tableVersions(documents, tableName, tenant);
      expect(Object.keys(inTable).length).toBeGreaterThan(0);
      expect(await indexedVersions(search, index, tenant)).toEqual(inTable);
    },
    async changeEvents(): Promise<ChangeMessage[]> {
      return (await receiveAll(changeQueue)).map((event) => {
        const body = JSON.parse(event.message) as ChangeMessage;
        // The attributes subscribers filter and de-duplicate on agree with the body.
        expect(event.attributes).toMatchObject({ eventId: body.eventId, tenantId: tenant, resourceType: body.resourceType, action: body.action });
        return body;
      });
    },
    async auditEvents(): Promise<AuditEvent[]> {
      return (await receiveAll(auditQueue)).map((event) => {
        const audit = JSON.parse(event.message) as AuditEvent;
        expect(event.attributes).toMatchObject({ eventId: audit.id, tenantId: tenant });
        return audit;
      });
    },
    /** The stable id of the AuditEvent of each version written. */
    expectedAuditIds: () => unique(written.map((reference) => writeAuditId(tenant, reference))),
    /** How many AuditEvents the table holds for the tenant (audit records of this test's writes). */
    async auditCount(): Promise<number> {
      return auditLog.count(tenant, { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() });
    },
  };
  return r;
}

type Rig = Awaited<ReturnType<typeof rig>>;

function patient(id: string, family: string): Resource {
  return { resourceType: 'Patient', id, name: [{ family }], identifier: [{ system: 'urn:test:faults', value: id }] } as Resource;
}

/** Resource changes first, then the audit records their processing wrote. */
async function settle(poller: StreamPoller): Promise<void> {
  await poller.drain();
  await poller.drain();
}

/** A few creates, updates and deletes: 8 versions of 5 resources, 3 of them live at the end. */
async function someWrites(r: Rig, prefix: string): Promise<void> {
  for (const id of ['a', 'b', 'c', 'd']) {
    await r.put(patient(`${prefix}${id}`, 'One'));
  }
  await r.put(patient(`${prefix}a`, 'Two'));
  await r.remove('Patient', `${prefix}b`);
  await r.put(patient(`${prefix}c`, 'Two'));
  await r.remove('Patient', `${prefix}d`);
}

/** Every version written was announced on the changes topic at least once, and nothing else was; each under one stable id. */
async function expectEveryChangeEvent(r: Rig): Promise<ChangeMessage[]> {
  const events = await r.changeEvents();
  expect(unique(events.map((event) => event.reference))).toEqual(unique(r.written));
  const idsByReference = new Map<string, Set<string>>();
  for (const event of events) {
    idsByReference.set(event.reference, (idsByReference.get(event.reference) ?? new Set()).add(event.eventId));
  }
  expect([...idsByReference.values()].map((ids) => ids.size)).toEqual([...idsByReference.values()].map(() => 1));
  expect(unique(events.map((event) => event.eventId))).toHaveLength(r.written.length);
  return events;
}

/** Every version written has its AuditEvent on the audit topic at least once, and in the table exactly once. */
async function expectEveryAuditEvent(r: Rig): Promise<AuditEvent[]> {
  const events = await r.auditEvents();
  expect(unique(events.map((event) => event.id))).toEqual(r.expectedAuditIds());
  expect(unique(events.map((event) => event.entity?.[0]?.what?.reference))).toEqual(unique(r.written));
  expect(await r.auditCount()).toBe(r.written.length);
  return events;
}

describe('a stream record that cannot be processed', () => {
  it('fails alone: it is dead-lettered after its retries, and every other change is indexed and announced', async () => {
    const r = await rig('poison');
    await r.put(patient('p1', 'One'));
    await r.put(patient('p2', 'One'));
    // A CURRENT item whose body is not brotli-compressed JSON: no processor can ever read it.
    const poisonPK = resourcePK(r.tenant, 'Patient', 'poison');
    await r.documents.send(
      new PutCommand({
        TableName: r.tableName,
        Item: { PK: poisonPK, SK: CURRENT_SK, resourceType: 'Patient', id: 'poison', version: 1, lastUpdated: new Date().toISOString(), deleted: false, method: 'PUT', body: Buffer.from('not brotli at all') },
      }),
    );
    await r.put(patient('p3', 'One'));
    await r.put(patient('p1', 'Two'));
    await r.remove('Patient', 'p2');

    const poller = await r.startPoller({ maximumRetryAttempts: 2, retryBackoff: { initialMs: 5, maxMs: 20 } });
    await settle(poller);

    expect(r.deadLetters.map((record) => [record.eventName, record.dynamodb?.Keys?.PK?.S, record.dynamodb?.Keys?.SK?.S])).toEqual([['INSERT', poisonPK, CURRENT_SK]]);
    expect(poller.stats().deadLettered).toBe(1);

    const inTable = await tableVersions(r.documents, r.tableName, r.tenant);
    expect(inTable).toEqual({ 'Patient/poison': 1, 'Patient/p1': 2, 'Patient/p3': 1 });
    const { 'Patient/poison': _, ...readable } = inTable;
    expect(await indexedVersions(r.search, r.index, r.tenant)).toEqual(readable);
    await expectEveryChangeEvent(r);
    await expectEveryAuditEvent(r);
  });
});

describe('a resource OpenSearch would refuse as it is', () => {
  it('is indexed in a degraded form in the same batch as the others: no retry, no dead letter, findable by _id and identifier', async () => {
    const r = await rig('too-big');
    await r.put(patient('p1', 'One'));
    // 11,000 identifiers: more nested values than OpenSearch takes in one document (10,000).
    const identifier = Array.from({ length: 11_000 }, (_, n) => ({ system: 'urn:test:faults', value: `big-${n}` }));
    await r.put({ resourceType: 'Patient', id: 'big', name: [{ family: 'Big' }], identifier } as Resource);
    await r.put(patient('p2', 'Two'));

    const poller = await r.startPoller({ maximumRetryAttempts: 0 });
    await settle(poller);

    expect(poller.stats()).toMatchObject({ retries: 0, deadLettered: 0 });
    await r.expectIndexEqualsTable();
    const engine = new OpenSearchEngine(r.search, r.index);
    const find = async (parameters: Record<string, string>) =>
      (await engine.search(r.tenant, parseSearchRequest({ resourceType: 'Patient', parameters: Object.fromEntries(Object.entries(parameters).map(([name, value]) => [name, [value]])), strict: true, defaultCount: 20, maxCount: 1000 }))).matches.map((resource) => resource.id);
    expect(await find({ _id: 'big' })).toEqual(['big']);
    expect(await find({ identifier: 'urn:test:faults|big-42' })).toEqual(['big']);
    expect(await find({ family: 'two' })).toEqual(['p2']);
    await expectEveryChangeEvent(r);
    await expectEveryAuditEvent(r);
  });
});

describe('OpenSearch down', () => {
  it('fails the batch and retries it while the table keeps serving reads and writes; once it is back the index equals the table and every event arrives', async () => {
    const r = await rig('search-down');
    r.use(new StreamProcessor({ ...r.healthyParts, indexer: r.downParts.indexer }));
    const poller = await r.startPoller();

    await someWrites(r, 'p');
    await until(() => poller.stats().retries >= 5, 'the poller to retry the failing batch');

    // The table is unaffected: it takes writes and answers reads while nothing gets indexed.
    await r.put(patient('pe', 'During'));
    expect((await r.repository.readCurrent({ tenant: r.tenant, resourceType: 'Patient', id: 'pa' }))?.version).toBe(2);
    expect((await r.repository.readCurrent({ tenant: r.tenant, resourceType: 'Patient', id: 'pb' }))?.deleted).toBe(true);
    expect((await r.repository.readCurrent({ tenant: r.tenant, resourceType: 'Patient', id: 'pe' }))?.resource).toMatchObject({ name: [{ family: 'During' }] });
    expect(await indexedVersions(r.search, r.index, r.tenant)).toEqual({});

    r.use(r.healthy);
    await settle(poller);
    expect(poller.stats().deadLettered).toBe(0);
    await r.expectIndexEqualsTable();
    await expectEveryChangeEvent(r);
    await expectEveryAuditEvent(r);
  });
});

describe('OpenSearch down for longer than the retry budget', () => {
  it('dead-letters the changes but still audits every write; replaying the dead letters makes the index equal the table', async () => {
    const r = await rig('search-outage');
    r.use(new StreamProcessor({ ...r.healthyParts, indexer: r.downParts.indexer }));
    // As deployed (infra/stream.ts): 10 retries, bisection, then the on-failure destination.
    const poller = await r.startPoller({ maximumRetryAttempts: 10, retryBackoff: { initialMs: 1, maxMs: 5 } });
    await someWrites(r, 'p');
    await poller.drain();
    const deadLettered = [...r.deadLetters];
    expect(deadLettered.length).toBeGreaterThan(0);

    r.use(r.healthy);
    await settle(poller);
    // The audit trail does not depend on OpenSearch: every write's AuditEvent is stored and published.
    await expectEveryAuditEvent(r);

    // What an operator does with the dead letters within the stream's 24 hours: deliver them again.
    await deliver(r, deadLettered);
    await r.expectIndexEqualsTable();
    await expectEveryChangeEvent(r);
  });
});

describe('SNS down', () => {
  it('fails the batch and retries it until SNS is back; no change or audit event is lost', async () => {
    const r = await rig('sns-down');
    r.use(new StreamProcessor({ ...r.healthyParts, publisher: r.downParts.publisher }));
    const poller = await r.startPoller();

    await someWrites(r, 'p');
    await until(() => poller.stats().retries >= 5, 'the poller to retry the failing batch');
    await r.put(patient('pe', 'During'));
    expect((await r.repository.readCurrent({ tenant: r.tenant, resourceType: 'Patient', id: 'pe' }))?.version).toBe(1);
    expect(await r.changeEvents()).toEqual([]);

    r.use(r.healthy);
    await settle(poller);
    expect(poller.stats().deadLettered).toBe(0);
    await r.expectIndexEqualsTable();
    await expectEveryChangeEvent(r);
    // Retried batches wrote the same audit records again: still one per write in the table.
    await expectEveryAuditEvent(r);
  });
});

/** A poller whose handler only keeps the Lambda events it is given, to deliver them again by hand. */
async function capture(r: Rig): Promise<{ records: DynamoDBRecord[]; poller: StreamPoller }> {
  const records: DynamoDBRecord[] = [];
  const poller = await r.startPoller({
    handler: async (event): Promise<DynamoDBBatchResponse> => {
      records.push(...event.Records);
      return { batchItemFailures: [] };
    },
  });
  return { records, poller };
}

const eventOf = (records: readonly DynamoDBRecord[]): DynamoDBStreamEvent => JSON.parse(JSON.stringify({ Records: records })) as DynamoDBStreamEvent;

async function deliver(r: Rig, records: readonly DynamoDBRecord[]): Promise<void> {
  const response = await r.handler(eventOf(records), lambdaContext(STREAM_PROCESSOR));
  expect(response.batchItemFailures).toEqual([]);
}

describe('a batch delivered twice', () => {
  it('leaves one document per resource at its version, no second audit record, and repeats each event under the same id', async () => {
    const r = await rig('duplicate');
    const captured = await capture(r);
    await someWrites(r, 'p');
    await captured.poller.drain();
    const resourceRecords = [...captured.records];

    await deliver(r, resourceRecords);
    const auditsAfterFirst = await r.auditCount();
    await deliver(r, resourceRecords);
    expect(auditsAfterFirst).toBe(r.written.length);
    expect(await r.auditCount()).toBe(auditsAfterFirst);

    await r.expectIndexEqualsTable();
    await r.search.indices.refresh({ index: r.index });
    const documents = await r.search.count({ index: r.index, body: { query: { term: { tenant: r.tenant } } } as never });
    expect((documents.body as { count: number }).count).toBe(Object.keys(await tableVersions(r.documents, r.tableName, r.tenant)).length);

    const changes = await expectEveryChangeEvent(r);
    expect(changes).toHaveLength(2 * r.written.length);

    // The audit records the processing wrote, as the stream brought them: delivered twice too.
    await captured.poller.drain();
    const auditRecords = captured.records.slice(resourceRecords.length).filter((record) => record.eventName === 'INSERT' && record.dynamodb?.Keys?.PK?.S?.includes('#AUDIT#'));
    expect(auditRecords).toHaveLength(r.written.length);
    await deliver(r, auditRecords);
    await deliver(r, auditRecords);
    const audits = await expectEveryAuditEvent(r);
    expect(audits).toHaveLength(2 * r.written.length);
  });
});

describe('records delivered out of order', () => {
  it('never lets an older version replace a newer one in the index, nor resurrect a deleted resource', async () => {
    const r = await rig('reorder');
    const captured = await capture(r);
    await r.put(patient('p1', 'One'));
    await r.put(patient('p1', 'Two'));
    await r.put(patient('p2', 'One'));
    await r.remove('Patient', 'p2');
    await r.put(patient('p3', 'One'));
    await r.put(patient('p3', 'Two'));
    await captured.poller.drain();
    await captured.poller.stop();

    const current = (id: string, version: number) =>
      captured.records.find((record) => record.dynamodb?.Keys?.PK?.S?.endsWith(`#Patient#${id}`) && record.dynamodb.Keys.SK?.S === CURRENT_SK && record.dynamodb.NewImage?.version?.N === String(version))!;
    // Separate invocations, newest first.
    await deliver(r, [current('p1', 2)]);
    await deliver(r, [current('p1', 1)]);
    await deliver(r, [current('p2', 2)]);
    await deliver(r, [current('p2', 1)]);
    // One invocation, newest first.
    await deliver(r, [current('p3', 2), current('p3', 1)]);

    expect(await indexedVersions(r.search, r.index, r.tenant)).toEqual({ 'Patient/p1': 2, 'Patient/p3': 2 });
    await r.expectIndexEqualsTable();
    const { body } = await r.search.get({ index: r.index, id: documentId(r.tenant, 'Patient', 'p1'), routing: r.tenant });
    expect((body._source as { resource: Resource }).resource).toMatchObject({ meta: { versionId: '2' }, name: [{ family: 'Two' }] });
    await expectEveryChangeEvent(r);
  });
});

/** Thrown where the processor's process dies; after that it does nothing more. */
class Killed extends Error {}

type KillPoint = 'indexing' | 'auditing' | 'publishing';

/**
 * The processor's parts, wired to die at `point`: having done part of the batch's work there (half
 * of the index changes, all audit records, half of the events), every later call fails, as in a
 * process that is gone.
 */
function mortalParts(r: Rig, point: KillPoint) {
  let dead = false;
  let signalDeath!: () => void;
  const died = new Promise<void>((resolve) => (signalDeath = resolve));
  const die = (): never => {
    dead = true;
    signalDeath();
    throw new Killed(point);
  };
  const alive = () => {
    if (dead) {
      throw new Killed('already dead');
    }
  };
  const half = <T>(items: readonly T[]) => items.slice(0, Math.ceil(items.length / 2));
  const healthy = r.healthyParts;
  const parts: StreamProcessorDependencies = {
    indexer: {
      apply: async (changes: readonly IndexChange[], options?: { refresh?: boolean }) => {
        alive();
        if (point === 'indexing') {
          await healthy.indexer!.apply(half(changes), options);
          die();
        }
        return healthy.indexer!.apply(changes, options);
      },
    } as unknown as ResourceIndexer,
    auditLog: {
      recordMany: async (events: Parameters<AuditLog['recordMany']>[0]) => {
        alive();
        await healthy.auditLog.recordMany(events);
        if (point === 'auditing') {
          die();
        }
      },
    } as unknown as AuditLog,
    publisher: {
      publish: async (events: readonly OutgoingEvent[]) => {
        alive();
        if (point === 'publishing') {
          await healthy.publisher.publish(half(events));
          die();
        }
        return healthy.publisher.publish(events);
      },
    } as unknown as EventPublisher,
  };
  return { parts, died, isDead: () => dead };
}

describe('a processor killed in the middle of a batch', () => {
  for (const point of ['indexing', 'auditing', 'publishing'] as const) {
    it(`(after part of the ${point}) converges after a restart: the index equals the table, every event arrives`, async () => {
      const r = await rig(`kill-${point}`);
      await someWrites(r, 'p');
      const mortal = mortalParts(r, point);
      const dying = new StreamProcessor(mortal.parts);
      const handler = streamHandler(() => dying);
      // The first poller delivers the whole backlog as one batch, during which its process dies; it
      // never checkpoints, and waits so long to retry that it is stopped first.
      const first = await r.startPoller({
        handler: async (event, context) => {
          const response = await handler(event, context).catch((error: unknown) => {
            throw mortal.isDead() ? new Killed('the process is gone') : error;
          });
          if (mortal.isDead()) {
            throw new Killed('the process is gone');
          }
          return response;
        },
        retryBackoff: { initialMs: 600_000, maxMs: 600_000 },
      });
      await mortal.died;
      await first.stop();
      expect(first.stats().delivered).toBe(0);

      // What the fault left: the work of the batch done in part, the event stream short.
      const early = await r.changeEvents();
      expect(unique(early.map((event) => event.reference)).length).toBeLessThan(r.written.length);
      const indexed = await indexedVersions(r.search, r.index, r.tenant);
      if (point === 'indexing') {
        expect(indexed).not.toEqual(await tableVersions(r.documents, r.tableName, r.tenant));
      }

      // Writes go on while no processor runs.
      await r.put(patient('pa', 'Three'));
      await r.put(patient('pe', 'One'));
      await r.remove('Patient', 'pc');

      // A new process, reading the stream from its oldest record with the healthy processor.
      const second = await r.startPoller({ startingPosition: 'TRIM_HORIZON' });
      await settle(second);
      expect(second.stats().deadLettered).toBe(0);
      await r.expectIndexEqualsTable();
      // What the dying process announced, and what the new one did: together, every event.
      const later = await r.changeEvents();
      const all = [...early, ...later];
      expect(unique(all.map((event) => event.reference))).toEqual(unique(r.written));
      expect(unique(all.map((event) => event.eventId))).toHaveLength(r.written.length);
      await expectEveryAuditEvent(r);
    });
  }
});
