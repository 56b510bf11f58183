/**
 * What the stream processor is told about, from the records a real table really streams: every
 * write below goes through the repository into a table of this file's own on DynamoDB Local, the
 * local stream poller (Lambda's event source mapping) delivers the table's stream to the real
 * handler's record conversion, and `streamChangeOf` classifies what arrived. A change is exactly
 * a committed version a CURRENT item did not hold before: one per create, update, delete or
 * finalized transaction write, and nothing for bookkeeping, unchanged deletes, staged or
 * rolled-back transactions.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvent, newAuditId } from '../../../core/audit/audit-event.js';
import { AuditLog } from '../../../core/audit/audit-log.js';
import { loadConfig } from '../../../core/config.js';
import { deleteResource, type FhirContext } from '../../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../../core/search/dynamodb/engine.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../../core/storage/dynamo-client.js';
import { NEW_RESOURCE_STATE, type PlannedWrite, ResourceRepository, type ResourceKey, type WriteMethod } from '../../../core/storage/repository.js';
import type { CommitStage } from '../../../core/storage/transaction-log.js';
import { type ResourceChange, type StreamChange, type TableStreamRecord, streamChangeOf } from '../../../core/stream/changes.js';
import type { StreamProcessor } from '../../../core/stream/processor.js';
import { parseTenantId, type TenantId } from '../../../core/tenant.js';
import { streamHandler } from '../../../functions/stream-processor.js';
import type { StreamPoller } from '../../../scripts/local/stream-poller.js';
import { startLocalStreamProcessing } from '../../../scripts/local/stream-processing.js';
import { type DynamoDbLocal, localHandlerEnv, startDynamoDbLocal } from '../../../scripts/local/dynamodb-local.js';
import { ensureLocalTable } from '../../../scripts/local/table.js';

const suffix = randomUUID().slice(0, 8);
const tableName = `changes-${suffix}`;
// A DynamoDB Local of this file's own: with the poller reading the stream while a large
// transaction stages 8 chunks at once, the run's shared instance (holding every other file's
// tables and streams) answers "too long waiting for a lock" — an emulator artifact.
let database: DynamoDbLocal;
let client: DynamoDBDocumentClient;
let repository: ResourceRepository;
/** A repository whose clock is past every open transaction's deadline: its sweep finishes them. */
let later: ResourceRepository;

class Crash extends Error {}

function crashingAt(stage: CommitStage): ResourceRepository {
  return new ResourceRepository(client, tableName, {
    faults: {
      after: (reached) => {
        if (reached === stage) {
          throw new Crash(stage);
        }
      },
    },
  });
}

/** Every record the stream delivered, converted by the real handler, in delivery order. */
const delivered: TableStreamRecord[] = [];
/** Stands in for the processor: keeps what the handler hands it and fails nothing. */
const capturing = {
  process: async (records: readonly TableStreamRecord[]) => {
    delivered.push(...records);
    return new Map<string, Error>();
  },
} as unknown as StreamProcessor;

let poller: StreamPoller;

beforeAll(async () => {
  database = await startDynamoDbLocal();
  client = createDocumentClient(loadConfig({ ...process.env, ...localHandlerEnv(database.endpoint, tableName) }));
  repository = new ResourceRepository(client, tableName);
  later = new ResourceRepository(client, tableName, { clock: () => Date.now() + 10 * 60_000 });
  await ensureLocalTable(database.endpoint, tableName);
  poller = await startLocalStreamProcessing({ endpoint: database.endpoint, tableName, handler: streamHandler(() => capturing) });
}, 60_000);

afterAll(async () => {
  await poller?.stop();
  await database?.stop();
});

const newTenant = (name: string): TenantId => parseTenantId(`${name}-${randomUUID().slice(0, 8)}`);

/** The stream records of `tenant`'s partitions that the table streamed while `action` ran. */
async function streamedBy(tenant: TenantId, action: () => Promise<unknown>): Promise<TableStreamRecord[]> {
  await poller.drain();
  const start = delivered.length;
  await action();
  await poller.drain();
  return delivered.slice(start).filter((record) => record.keys.PK.startsWith(`TENANT#${tenant}#`));
}

function changesIn(records: readonly TableStreamRecord[]): StreamChange[] {
  return records.flatMap((record) => {
    const change = streamChangeOf(record);
    return change ? [change] : [];
  });
}

function resourceChangesIn(records: readonly TableStreamRecord[]): ResourceChange[] {
  return changesIn(records).flatMap((change) => (change.kind === 'resource' ? [change.change] : []));
}

const SYSTEM = 'urn:test:changes';

function patient(id: string, family: string): Resource {
  return { resourceType: 'Patient', id, name: [{ family }], identifier: [{ system: SYSTEM, value: `${id}-${family}` }] } as Resource;
}

function observation(id: string, code: string): Resource {
  return { resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: SYSTEM, code }] } } as Resource;
}

const keyOf = (tenant: TenantId, resource: Resource): ResourceKey => ({ tenant, resourceType: resource.resourceType, id: resource.id as string });

async function put(tenant: TenantId, resource: Resource, author?: string, method: WriteMethod = 'PUT') {
  const result = await repository.write(keyOf(tenant, resource), { author }, () => ({ kind: 'write', method, resource }));
  return result.version!;
}

/** DELETE as the FHIR interaction does it: deleting a deleted resource changes nothing. */
async function remove(tenant: TenantId, resourceType: string, id: string, author?: string) {
  const context: FhirContext = { repository, searchEngine: new DynamoSearchEngine(repository, 10_000), tenant, principal: author };
  return deleteResource(context, resourceType, id, undefined);
}

/** `Type/id vN action` of each change: what a subscriber would be told. */
const summary = (changes: readonly ResourceChange[]) => changes.map((change) => `${change.resourceType}/${change.id} v${change.version} ${change.action}`);

describe('a single resource written through the repository', () => {
  it('is one create change carrying the stored resource, its method and author', async () => {
    const tenant = newTenant('create');
    let written: Awaited<ReturnType<typeof put>> | undefined;
    const records = await streamedBy(tenant, async () => {
      written = await put(tenant, patient('p1', 'First'), 'alice@example.org', 'POST');
    });
    const changes = changesIn(records);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toEqual({
      kind: 'resource',
      change: {
        tenant,
        resourceType: 'Patient',
        id: 'p1',
        version: 1,
        action: 'create',
        method: 'POST',
        lastUpdated: written!.lastUpdated,
        author: 'alice@example.org',
        resource: written!.resource,
      },
    });
    expect((changes[0] as { change: ResourceChange }).change.resource).toMatchObject({ meta: { versionId: '1' }, name: [{ family: 'First' }] });
  });

  it('streams VERSION and LOOKUP items too, and none of them is a change', async () => {
    const tenant = newTenant('bookkeeping');
    const records = await streamedBy(tenant, () => put(tenant, patient('p1', 'Kept')));
    const bookkeeping = records.filter((record) => record.keys.SK !== 'CURRENT');
    // What was written besides CURRENT: the version item and the identifier's lookup item.
    expect(bookkeeping.some((record) => record.keys.SK.startsWith('VERSION#'))).toBe(true);
    expect(bookkeeping.some((record) => record.keys.SK.startsWith('LOOKUP#'))).toBe(true);
    expect(bookkeeping.map(streamChangeOf)).toEqual(bookkeeping.map(() => undefined));
    expect(summary(resourceChangesIn(records))).toEqual(['Patient/p1 v1 create']);
  });

  it('follows create, update, delete, an unchanged delete and an update after the delete, one change each', async () => {
    const tenant = newTenant('lifecycle');
    const create = await streamedBy(tenant, () => put(tenant, patient('p1', 'One'), 'alice@example.org'));
    const update = await streamedBy(tenant, () => put(tenant, patient('p1', 'Two'), 'bob@example.org'));
    const deletion = await streamedBy(tenant, () => remove(tenant, 'Patient', 'p1', 'carol@example.org'));
    let unchanged: Awaited<ReturnType<typeof remove>> | undefined;
    const deleteAgain = await streamedBy(tenant, async () => {
      unchanged = await remove(tenant, 'Patient', 'p1', 'carol@example.org');
    });
    const recreate = await streamedBy(tenant, () => put(tenant, patient('p1', 'Three'), 'dave@example.org'));

    expect(summary(resourceChangesIn(create))).toEqual(['Patient/p1 v1 create']);

    const [updated] = resourceChangesIn(update);
    expect(summary([updated])).toEqual(['Patient/p1 v2 update']);
    expect(updated).toMatchObject({ method: 'PUT', author: 'bob@example.org', resource: { meta: { versionId: '2' }, name: [{ family: 'Two' }] } });
    expect(changesIn(update)).toHaveLength(1);

    const [deleted] = resourceChangesIn(deletion);
    expect(summary([deleted])).toEqual(['Patient/p1 v3 delete']);
    expect(deleted.method).toBe('DELETE');
    expect(deleted.author).toBe('carol@example.org');
    expect(deleted).not.toHaveProperty('resource');
    expect(changesIn(deletion)).toHaveLength(1);

    // Deleting a deleted resource writes nothing, so the stream has nothing to say.
    expect(unchanged?.written).toBe(false);
    expect(changesIn(deleteAgain)).toEqual([]);

    // The resource did not exist just before: to a subscriber it is created again.
    const [recreated] = resourceChangesIn(recreate);
    expect(summary([recreated])).toEqual(['Patient/p1 v4 create']);
    expect(recreated).toMatchObject({ author: 'dave@example.org', resource: { meta: { versionId: '4' }, name: [{ family: 'Three' }] } });
    expect(changesIn(recreate)).toHaveLength(1);
  });

  it('leaves the author out of a change whose write named none', async () => {
    const tenant = newTenant('anonymous');
    const [change] = resourceChangesIn(await streamedBy(tenant, () => put(tenant, patient('p1', 'Nobody'))));
    expect(change.action).toBe('create');
    expect(change).not.toHaveProperty('author');
  });
});

describe('audit records', () => {
  it('are audit events when inserted, and not again when a retried batch writes the same record', async () => {
    const tenant = newTenant('audit');
    const log = new AuditLog(client, tableName);
    const event: AuditEvent = auditEvent({
      id: newAuditId(),
      tenant,
      interaction: 'read',
      recorded: new Date().toISOString(),
      status: 200,
      principal: 'alice@example.org',
      entities: ['Patient/p1/_history/1'],
    });
    const first = await streamedBy(tenant, () => log.record(tenant, event));
    expect(changesIn(first)).toEqual([{ kind: 'audit', tenant, event }]);
    const again = await streamedBy(tenant, () => log.record(tenant, event));
    expect(changesIn(again)).toEqual([]);
  });
});

describe('a transaction above DynamoDB’s 100 items (the staged protocol)', () => {
  const PATIENTS = 30;
  const DELETED = 10;
  const CREATED = 30;
  const AUTHOR = 'bulk@example.org';
  const range = (count: number, prefix: string) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

  /**
   * A tenant holding 30 Patients and 10 Observations, and a transaction that updates the
   * Patients, deletes the Observations and creates 30 more: 70 resources, over 200 items.
   */
  async function scenario(name: string) {
    const tenant = newTenant(name);
    const key = (resourceType: string, id: string): ResourceKey => ({ tenant, resourceType, id });
    await Promise.all([...range(PATIENTS, 'p-').map((id) => patient(id, 'Old')), ...range(DELETED, 'del-').map((id) => observation(id, 'seed'))].map((resource) => put(tenant, resource)));
    const targets = [
      ...range(PATIENTS, 'p-').map((id) => ({ key: key('Patient', id), method: 'PUT' as const, resource: patient(id, 'New') })),
      ...range(DELETED, 'del-').map((id) => ({ key: key('Observation', id), method: 'DELETE' as const })),
      ...range(CREATED, 'new-').map((id) => ({ key: key('Observation', id), method: 'POST' as const, resource: observation(id, 'created') })),
    ];
    // The creates are POSTs under fresh ids, staged without a fence, as a transaction Bundle's are.
    const plan = async (): Promise<PlannedWrite[]> =>
      Promise.all(targets.map(async (target) => ({ ...target, author: AUTHOR, state: target.method === 'POST' ? NEW_RESOURCE_STATE : await repository.readWriteState(target.key) })));
    const expected = [
      ...range(PATIENTS, 'p-').map((id) => `Patient/${id} v2 update`),
      ...range(DELETED, 'del-').map((id) => `Observation/${id} v2 delete`),
      ...range(CREATED, 'new-').map((id) => `Observation/${id} v1 create`),
    ].sort();
    return { tenant, key, plan, expected };
  }

  /** Exactly one change per resource of the transaction, as committed, each by its author. */
  function expectOneChangePerResource(records: readonly TableStreamRecord[], expected: readonly string[]): void {
    const changes = resourceChangesIn(records);
    expect(summary(changes).sort()).toEqual(expected);
    for (const change of changes) {
      expect(change.author).toBe(AUTHOR);
      if (change.action === 'delete') {
        expect(change).not.toHaveProperty('resource');
      } else {
        expect(change.resource?.meta?.versionId).toBe(String(change.version));
      }
    }
    const updated = changes.find((change) => change.id === 'p-0');
    expect(updated?.resource).toMatchObject({ name: [{ family: 'New' }] });
  }

  it('is one change per resource once committed, and nothing of its staging is', { timeout: 120_000 }, async () => {
    const s = await scenario('tx-commit');
    const writes = await s.plan();
    const records = await streamedBy(s.tenant, () => repository.commitAtomically(writes));
    // The protocol ran: its transaction record and STAGED items went through the stream.
    expect(changesIn(records).filter((change) => change.kind === 'transaction')).not.toEqual([]);
    expect(records.some((record) => record.keys.SK === 'STAGED')).toBe(true);
    // Each resource's CURRENT item changed twice (marked, then finalized): one change only.
    expect(records.filter((record) => record.keys.PK.endsWith('#Patient#p-0') && record.keys.SK === 'CURRENT')).toHaveLength(2);
    expectOneChangePerResource(records, s.expected);
  });

  it('is no change while committed but not finalized, and one change per resource when the sweep finalizes it', { timeout: 120_000 }, async () => {
    const s = await scenario('tx-finalize');
    const writes = await s.plan();
    // The writer stops after the commit point, before finalizing anything.
    const staged = await streamedBy(s.tenant, () => crashingAt('committed').commitAtomically(writes));
    expect(staged.some((record) => record.keys.SK === 'STAGED')).toBe(true);
    expect(resourceChangesIn(staged)).toEqual([]);

    const finalized = await streamedBy(s.tenant, async () => {
      expect(await later.recoverTransactions(s.tenant)).toBe(1);
    });
    expectOneChangePerResource(finalized, s.expected);
  });

  it('is no change at all when it is rolled back, and its resources change normally afterwards', { timeout: 120_000 }, async () => {
    const s = await scenario('tx-rollback');
    const writes = await s.plan();
    const records = await streamedBy(s.tenant, async () => {
      // The writer dies before its commit point, with everything staged; the sweep, past the
      // transaction's deadline, aborts it and rolls it back.
      await expect(crashingAt('staged').commitAtomically(writes)).rejects.toBeInstanceOf(Crash);
      expect(await later.recoverTransactions(s.tenant)).toBe(1);
    });
    // It was staged (markers, placeholders, STAGED items) and removed again: the stream saw all of it.
    expect(records.some((record) => record.keys.SK === 'STAGED' && record.eventName === 'REMOVE')).toBe(true);
    expect(records.some((record) => record.keys.SK === 'CURRENT' && record.eventName === 'REMOVE')).toBe(true);
    expect(resourceChangesIn(records)).toEqual([]);
    expect((await repository.readCurrent(s.key('Patient', 'p-0')))?.version).toBe(1);

    const after = await streamedBy(s.tenant, () => put(s.tenant, patient('p-0', 'After'), 'alice@example.org'));
    expect(summary(resourceChangesIn(after))).toEqual(['Patient/p-0 v2 update']);
  });
});
