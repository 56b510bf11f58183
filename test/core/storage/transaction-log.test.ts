/**
 * The commit protocol for transactions beyond one TransactWriteItems, against DynamoDB Local.
 * A writer "crashes" (its fault hook throws) at each point of the protocol; a fresh repository
 * then proves all-or-nothing visibility through read, vread, instance and type history and every
 * access path of the DynamoDB search engine, and the next reader, writer or sweep finishes the
 * transaction. Two conflicting large transactions never both commit, and the loser leaves no trace.
 */
import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { FhirError } from '../../../core/errors.js';
import { searchResources, type FhirContext } from '../../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../../core/search/dynamodb/engine.js';
import { createDocumentClient, dynamoUsage, resetDynamoUsage } from '../../../core/storage/dynamo-client.js';
import { gsi3OpenTransactionsPartition, RECENT_CHANGE_SHARDS, recentChangesPK, resourcePK, STAGED_SK } from '../../../core/storage/keys.js';
import { NEW_RESOURCE_STATE, ResourceRepository, type PlannedWrite, type ResourceKey } from '../../../core/storage/repository.js';
import type { CommitStage } from '../../../core/storage/transaction-log.js';
import { parseTenantId, type TenantId } from '../../../core/tenant.js';

const config = loadConfig(process.env);
const client = createDocumentClient(config);
const repository = new ResourceRepository(client, config.tableName);
/** A repository whose clock is past every open transaction's deadline. */
const later = () => new ResourceRepository(client, config.tableName, { clock: () => Date.now() + 10 * 60_000 });

class Crash extends Error {}

function crashingAt(stage: CommitStage): ResourceRepository {
  return new ResourceRepository(client, config.tableName, {
    faults: {
      after: (reached) => {
        if (reached === stage) {
          throw new Crash(stage);
        }
      },
    },
  });
}

const SYSTEM = 'urn:test';
const PATIENTS = 60;
const DELETED = 20;
const MOVED = 10;

function patient(id: string, family: string, identifier: string): Resource {
  return { resourceType: 'Patient', id, name: [{ family }], identifier: [{ system: SYSTEM, value: identifier }] } as Resource;
}

function observation(id: string, subject: string, code: string): Resource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: SYSTEM, code }] },
    subject: { reference: subject },
    identifier: [{ system: SYSTEM, value: id }],
  } as Resource;
}

const range = (count: number, prefix: string) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

/**
 * A tenant holding 60 Patients, 20 Observations about to be deleted and 10 about to move to
 * another patient's compartment, and a transaction that updates the Patients (new family name,
 * new identifier), deletes and moves those Observations and creates `created` new ones: 290
 * resources and ~1,000 DynamoDB items by default.
 */
async function scenario(created = 200) {
  const tenant = parseTenantId(`tx-${randomUUID().slice(0, 8)}`);
  const key = (resourceType: string, id: string): ResourceKey => ({ tenant, resourceType, id });
  const seeds = [
    ...range(PATIENTS, 'p-').map((id, index) => patient(id, 'Old', `old-${index}`)),
    ...range(DELETED, 'del-').map((id) => observation(id, 'Patient/p-0', 'seed')),
    ...range(MOVED, 'mov-').map((id) => observation(id, 'Patient/p-1', 'seed')),
  ];
  await Promise.all(seeds.map((resource) => repository.write(key(resource.resourceType, resource.id as string), { presume: 'absent' }, () => ({ kind: 'write', method: 'PUT', resource }))));
  const targets: { key: ResourceKey; method: PlannedWrite['method']; resource?: Resource }[] = [
    ...range(PATIENTS, 'p-').map((id, index) => ({ key: key('Patient', id), method: 'PUT' as const, resource: patient(id, 'New', `new-${index}`) })),
    ...range(DELETED, 'del-').map((id) => ({ key: key('Observation', id), method: 'DELETE' as const })),
    ...range(MOVED, 'mov-').map((id) => ({ key: key('Observation', id), method: 'PUT' as const, resource: observation(id, 'Patient/p-2', 'seed') })),
    ...range(created, 'new-').map((id) => ({ key: key('Observation', id), method: 'POST' as const, resource: observation(id, 'Patient/p-0', 'created') })),
  ];
  // The creates are POSTs under fresh ids, staged without a fence, as a transaction Bundle's are.
  const plan = async (): Promise<PlannedWrite[]> =>
    Promise.all(targets.map(async (target) => ({ ...target, state: target.method === 'POST' ? NEW_RESOURCE_STATE : await repository.readWriteState(target.key) })));
  return { tenant, key, keys: targets.map((target) => target.key), created, plan };
}

type Scenario = Awaited<ReturnType<typeof scenario>>;

function contextOf(reader: ResourceRepository, tenant: TenantId): FhirContext {
  return { repository: reader, searchEngine: new DynamoSearchEngine(reader, 10_000), tenant };
}

async function searchIds(context: FhirContext, resourceType: string, parameters: Record<string, string[]>): Promise<string[]> {
  const { result } = await searchResources(context, { resourceType, parameters, strict: true, defaultCount: 1000, maxCount: 1000 });
  return result.matches.map((resource) => resource.id as string).sort();
}

const sorted = (ids: string[]) => [...ids].sort();

/** Asserts that every read path sees all of the scenario's transaction, or none of it. */
async function expectTransaction(reader: ResourceRepository, { tenant, key, ...s }: Scenario, visible: boolean): Promise<void> {
  const patients = range(PATIENTS, 'p-');
  const created = range(s.created, 'new-');
  const deleted = range(DELETED, 'del-');
  const moved = range(MOVED, 'mov-');

  // read
  const currentPatients = await Promise.all(patients.map((id) => reader.readCurrent(key('Patient', id))));
  expect(currentPatients.map((v) => [v?.version, (v?.resource as { name?: { family: string }[] })?.name?.[0].family])).toEqual(patients.map(() => (visible ? [2, 'New'] : [1, 'Old'])));
  const currentCreated = await Promise.all(created.map((id) => reader.readCurrent(key('Observation', id))));
  expect(currentCreated.filter((v) => v !== undefined)).toHaveLength(visible ? created.length : 0);
  const currentDeleted = await Promise.all(deleted.map((id) => reader.readCurrent(key('Observation', id))));
  expect(currentDeleted.map((v) => v?.deleted)).toEqual(deleted.map(() => visible));

  // vread
  const versionTwo = await Promise.all(patients.map((id) => reader.readVersion(key('Patient', id), 2)));
  expect(versionTwo.filter((v) => v !== undefined)).toHaveLength(visible ? PATIENTS : 0);
  const versionOne = await Promise.all(created.map((id) => reader.readVersion(key('Observation', id), 1)));
  expect(versionOne.filter((v) => v !== undefined)).toHaveLength(visible ? created.length : 0);

  // instance history
  expect((await reader.instanceHistory(key('Patient', 'p-0'), { count: 10 })).items.map((v) => v.version)).toEqual(visible ? [2, 1] : [1]);
  expect((await reader.instanceHistory(key('Observation', 'new-0'), { count: 10 })).items).toHaveLength(visible ? 1 : 0);
  expect((await reader.instanceHistory(key('Observation', 'del-0'), { count: 10 })).items.map((v) => v.deleted)).toEqual(visible ? [true, false] : [false]);

  // type history
  const patientHistory = await reader.typeHistory(tenant, 'Patient', { count: 1000 });
  expect(patientHistory.items.filter((v) => v.version === 2)).toHaveLength(visible ? PATIENTS : 0);
  const observationHistory = await reader.typeHistory(tenant, 'Observation', { count: 1000 });
  expect(observationHistory.items.filter((v) => v.id.startsWith('new-'))).toHaveLength(visible ? created.length : 0);
  expect(observationHistory.items.filter((v) => v.deleted)).toHaveLength(visible ? DELETED : 0);

  // search, through each access path of the DynamoDB engine
  const context = contextOf(reader, tenant);
  expect(await searchIds(context, 'Observation', { identifier: [`${SYSTEM}|new-7`] })).toEqual(visible ? ['new-7'] : []); // GSI1 lookup
  expect(await searchIds(context, 'Observation', { code: [`${SYSTEM}|created`] })).toEqual(visible ? sorted(created) : []); // GSI1 lookup
  expect(await searchIds(context, 'Patient', { identifier: [`${SYSTEM}|new-3`] })).toEqual(visible ? ['p-3'] : []);
  expect(await searchIds(context, 'Patient', { identifier: [`${SYSTEM}|old-3`] })).toEqual(visible ? [] : ['p-3']);
  expect(await searchIds(context, 'Observation', { subject: ['Patient/p-0'] })).toEqual(visible ? sorted(created) : sorted(deleted)); // GSI2 compartment
  expect(await searchIds(context, 'Observation', { subject: ['Patient/p-2'] })).toEqual(visible ? sorted(moved) : []);
  expect(await searchIds(context, 'Patient', { family: ['New'] })).toEqual(visible ? sorted(patients) : []); // GSI3 type scan
  expect(await searchIds(context, 'Patient', { family: ['Old'] })).toEqual(visible ? [] : sorted(patients));
  expect(await searchIds(context, 'Observation', {})).toEqual(sorted(visible ? [...created, ...moved] : [...deleted, ...moved])); // GSI3 listing
  expect(await searchIds(context, 'Observation', { _id: ['new-1,del-1'] })).toEqual(visible ? ['new-1'] : ['del-1']); // ids
}

/** The protocol's items left in the scenario's partitions: markers, placeholders, STAGED items, open transaction records. */
async function leftovers({ tenant, keys }: Scenario): Promise<string[]> {
  const found: string[] = [];
  for (let start = 0; start < keys.length; start += 25) {
    const pages = await Promise.all(
      keys.slice(start, start + 25).map((key) =>
        client.send(new QueryCommand({ TableName: config.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': resourcePK(tenant, key.resourceType, key.id) }, ConsistentRead: true })),
      ),
    );
    found.push(...pages.flatMap((page) => (page.Items ?? []).filter((item) => item.pendingTx !== undefined || item.SK === STAGED_SK).map((item) => `${item.PK} ${item.SK}`)));
  }
  const open = await client.send(
    new QueryCommand({ TableName: config.tableName, IndexName: 'GSI3', KeyConditionExpression: 'GSI3PK = :pk', ExpressionAttributeValues: { ':pk': gsi3OpenTransactionsPartition(tenant) } }),
  );
  return [...found, ...(open.Items ?? []).map((item) => `${item.PK}`)];
}

/** The recent-change items left for the scenario's created Observations (`new-…`). */
async function createdInOverlay({ tenant }: Scenario): Promise<string[]> {
  const shards = await Promise.all(
    Array.from({ length: RECENT_CHANGE_SHARDS }, (_, shard) =>
      client.send(new QueryCommand({ TableName: config.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': recentChangesPK(tenant, 'Observation', shard) }, ConsistentRead: true })),
    ),
  );
  return shards.flatMap((page) => (page.Items ?? []).map((item) => String(item.SK))).filter((id) => id.startsWith('new-'));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('a transaction above DynamoDB’s 100 items', () => {
  it('commits all of its resources through the protocol and leaves no protocol item behind', { timeout: 120_000 }, async () => {
    const s = await scenario();
    resetDynamoUsage();
    await repository.commitAtomically(await s.plan());
    expect(dynamoUsage.operations.TransactWriteItems).toBeGreaterThan(2);
    await expectTransaction(repository, s, true);
    expect(await leftovers(s)).toEqual([]);
  });

  it('stays one TransactWriteItems up to 100 items', async () => {
    const s = await scenario();
    const writes = (await s.plan()).filter((write) => write.key.id.startsWith('new-')).slice(0, 20);
    resetDynamoUsage();
    await repository.commitAtomically(writes);
    expect(dynamoUsage.operations).toEqual({ TransactWriteItems: 1 });
  });
});

describe('a writer that crashes before the commit point', () => {
  for (const stage of ['staging', 'staged'] as const) {
    it(`(after ${stage}) leaves nothing visible, blocks writes to its resources until its deadline, and is rolled back by the next writer after it`, { timeout: 120_000 }, async () => {
      const s = await scenario();
      const writes = await s.plan();
      expect(await rejection(crashingAt(stage).commitAtomically(writes))).toBeInstanceOf(Crash);
      expect(await leftovers(s)).not.toEqual([]);

      const fresh = new ResourceRepository(client, config.tableName);
      await expectTransaction(fresh, s, false);
      // Staged first: the transaction stages in key order.
      const staged = s.key('Observation', 'del-0');
      const blocked = await rejection(fresh.readWriteState(staged));
      expect(blocked).toBeInstanceOf(FhirError);
      expect((blocked as FhirError).status).toBe(409);
      expect((blocked as FhirError).message).toMatch(/Observation\/del-0 is being written by a transaction in progress/);

      // A read past the deadline still sees through it, and writes nothing (readers may not write).
      expect((await later().readCurrent(staged))?.deleted).toBe(false);
      expect(await leftovers(s)).not.toEqual([]);
      // One writer past the deadline rolls the whole transaction back.
      expect((await later().readWriteState(staged)).kind).toBe('present');
      expect(await leftovers(s)).toEqual([]);
      expect(await createdInOverlay(s), 'no recent-change item for a create that never happened').toEqual([]);
      await expectTransaction(fresh, s, false);
      const retried = await fresh.commitAtomically(await s.plan());
      expect(retried).toHaveLength(writes.length);
      await expectTransaction(fresh, s, true);
    });
  }
});

describe('a request failing while staging', () => {
  it('rolls the transaction back at once, so its resources are not blocked until its deadline', { timeout: 120_000 }, async () => {
    const s = await scenario();
    let transactions = 0;
    // The third TransactWriteItems is the second staging chunk (the first puts the record).
    const failing = new Proxy(client, {
      get: (target, property, receiver) =>
        property === 'send'
          ? async (command: Parameters<typeof client.send>[0]) => {
              if (command instanceof TransactWriteCommand && ++transactions === 3) {
                throw new Error('connection reset');
              }
              return target.send(command);
            }
          : Reflect.get(target, property, receiver),
    });
    const error = await rejection(new ResourceRepository(failing, config.tableName).commitAtomically(await s.plan()));
    expect((error as Error).message).toBe('connection reset');
    expect(await leftovers(s)).toEqual([]);
    await expectTransaction(repository, s, false);
    await repository.commitAtomically(await s.plan());
    await expectTransaction(repository, s, true);
  });
});

describe('a writer that crashes after the commit point', () => {
  for (const stage of ['committed', 'finalizing'] as const) {
    it(`(after ${stage}) still reports the commit, leaves all of it visible, and is finalized by the next writer past its deadline`, { timeout: 120_000 }, async () => {
      // Finalizing runs 8 chunks at a time: the crash after the first 8 must leave some undone.
      const s = await scenario(stage === 'finalizing' ? 600 : 200);
      const writes = await s.plan();
      expect(await crashingAt(stage).commitAtomically(writes)).toHaveLength(writes.length);
      const unfinalized = await leftovers(s);
      const marked = unfinalized.filter((item) => item.endsWith(' CURRENT')).length;
      expect(marked).toBeGreaterThan(0);
      if (stage === 'finalizing') {
        // Midway: some resources are finalized already, others not.
        expect(marked).toBeLessThan(s.keys.length);
      }

      const fresh = new ResourceRepository(client, config.tableName);
      await expectTransaction(fresh, s, true);
      // Readers see through it without finishing it, before the deadline and after.
      expect(await leftovers(s)).toEqual(unfinalized);
      const [resourceType, id] = (unfinalized.find((item) => item.endsWith(' CURRENT')) as string).split(' ')[0].split('#').slice(-2);
      await later().readCurrent(s.key(resourceType, id));
      expect(await leftovers(s)).toEqual(unfinalized);

      // One writer past the deadline, meeting a resource still marked, finalizes the whole transaction.
      await later().readWriteState(s.key(resourceType, id));
      expect(await leftovers(s)).toEqual([]);
      await expectTransaction(fresh, s, true);
    });
  }

  it('is finalized at once by a writer that meets it, so the write lands on the committed version', { timeout: 120_000 }, async () => {
    const s = await scenario();
    await crashingAt('committed').commitAtomically(await s.plan());
    const result = await repository.write(s.key('Patient', 'p-5'), {}, (current) => ({
      kind: 'write',
      method: 'PUT',
      resource: { ...(current?.resource as Resource), active: true } as Resource,
    }));
    expect(result.previous?.version).toBe(2);
    expect(result.version?.version).toBe(3);
    expect(await leftovers(s)).toEqual([]);
  });
});

describe('the sweep for the stream processor', () => {
  it('finishes the tenant’s abandoned transactions, and only those past their deadline', { timeout: 120_000 }, async () => {
    const s = await scenario();
    expect(await rejection(crashingAt('staged').commitAtomically(await s.plan()))).toBeInstanceOf(Crash);
    expect(await repository.recoverTransactions(s.tenant)).toBe(0);
    expect(await later().recoverTransactions(s.tenant)).toBe(1);
    expect(await leftovers(s)).toEqual([]);
    await expectTransaction(repository, s, false);
  });
});

describe('conflicting transactions', () => {
  /**
   * Two transactions that both update the scenario's Patients and create 150 Observations each,
   * coded with their own name: the same ids (they meet at their first resource), or ids of their
   * own, which sort before the Patients (the loser has staged its creates when they meet).
   */
  async function race(names: [string, string], sameCreates: boolean) {
    const s = await scenario();
    const patients = (await s.plan()).filter((write) => write.key.resourceType === 'Patient');
    const creates = (name: string) => range(150, sameCreates ? 'c-' : `${name}-`);
    // Creates of the same ids contend (a PUT creating them would); ids of their own are fresh.
    const state = sameCreates ? ({ kind: 'absent' } as const) : NEW_RESOURCE_STATE;
    const transactions = names.map((name) => [
      ...patients.map((write) => ({ ...write, resource: patient(write.key.id, name, `${name}-${write.key.id}`) })),
      ...creates(name).map((id) => ({ key: s.key('Observation', id), state, method: 'POST' as const, resource: observation(id, 'Patient/p-0', name) })),
    ]);
    const outcomes = await Promise.allSettled(transactions.map((writes) => repository.commitAtomically(writes)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const winner = outcomes.findIndex((outcome) => outcome.status === 'fulfilled');
    return { s, winner: names[winner], loser: names[1 - winner], error: (outcomes[1 - winner] as PromiseRejectedResult).reason as unknown, creates };
  }

  for (const sameCreates of [true, false]) {
    it(`never both commit; the loser gets 409 naming a resource and leaves no trace (${sameCreates ? 'meeting at once' : 'meeting after staging 150 creates'})`, { timeout: 120_000 }, async () => {
      const { s, winner, loser, error, creates } = await race(['left', 'right'], sameCreates);
      expect(error).toBeInstanceOf(FhirError);
      expect((error as FhirError).status).toBe(409);
      expect((error as FhirError).message).toMatch(/^(Patient\/p|Observation\/c)-\d+ changed while the transaction was processed; nothing was written$/);

      const context = contextOf(repository, s.tenant);
      expect(await searchIds(context, 'Patient', { family: [winner] })).toHaveLength(PATIENTS);
      expect(await searchIds(context, 'Observation', { code: [`${SYSTEM}|${winner}`] })).toEqual(sorted(creates(winner)));
      expect(await searchIds(context, 'Observation', { code: [`${SYSTEM}|${loser}`] })).toEqual([]);
      expect((await repository.instanceHistory(s.key('Patient', 'p-0'), { count: 10 })).items.map((v) => v.version)).toEqual([2, 1]);
      if (!sameCreates) {
        // Not a placeholder, staged version, STAGED or lookup item of the loser's creates.
        const loserItems = await Promise.all(
          creates(loser).map((id) =>
            client.send(new QueryCommand({ TableName: config.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': resourcePK(s.tenant, 'Observation', id) }, ConsistentRead: true })),
          ),
        );
        expect(loserItems.flatMap((page) => page.Items ?? [])).toEqual([]);
      }
      expect(await leftovers({ ...s, keys: [...s.keys, ...creates(winner).map((id) => s.key('Observation', id))] })).toEqual([]);
    });
  }
});

/**
 * A client whose requests of one kind wait at a gate until `open()`: a writer stalled with those
 * requests in flight. `reached` resolves when the first one is held.
 */
function gated(held: (command: object) => boolean) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let reachedGate!: () => void;
  const reached = new Promise<void>((resolve) => (reachedGate = resolve));
  const stalled = new Proxy(client, {
    get: (target, property, receiver) =>
      property === 'send'
        ? async (command: Parameters<typeof client.send>[0]) => {
            if (held(command)) {
              reachedGate();
              await gate;
            }
            return target.send(command);
          }
        : Reflect.get(target, property, receiver),
  });
  return { stalled, reached, open };
}

/** A staging chunk: it puts items marked by its transaction. */
function isStaging(command: object): boolean {
  return command instanceof TransactWriteCommand && (command.input.TransactItems ?? []).some((item) => item.Put?.Item?.pendingTx !== undefined);
}

describe('fresh resources, staged without a fence', () => {
  /** A transaction creating 200 Observations under fresh ids only: no chunk of it needs the fence. */
  async function creations() {
    const s = await scenario();
    const writes = (await s.plan()).filter((write) => write.method === 'POST');
    const ids = range(s.created, 'new-');
    /** What any reader sees of them: current versions, first versions, search hits. */
    const seen = async (reader: ResourceRepository) => ({
      current: (await Promise.all(ids.map((id) => reader.readCurrent(s.key('Observation', id))))).filter((v) => v !== undefined).length,
      first: (await Promise.all(ids.map((id) => reader.readVersion(s.key('Observation', id), 1)))).filter((v) => v !== undefined).length,
      found: (await searchIds(contextOf(reader, s.tenant), 'Observation', { code: [`${SYSTEM}|created`] })).length,
      history: (await reader.typeHistory(s.tenant, 'Observation', { count: 1000 })).items.filter((v) => v.id.startsWith('new-')).length,
    });
    const none = { current: 0, first: 0, found: 0, history: 0 };
    const all = { current: ids.length, first: ids.length, found: ids.length, history: ids.length };
    return { s, writes, seen, none, all };
  }

  it('are staged in chunks without the fence, become visible all at once, and a chunk arriving again later is refused', { timeout: 120_000 }, async () => {
    const { s, writes, seen, all } = await creations();
    const staged: TransactWriteCommand[] = [];
    const fenced: object[] = [];
    const { stalled } = gated((command) => {
      if (isStaging(command)) {
        staged.push(command as TransactWriteCommand);
        if ((command as TransactWriteCommand).input.TransactItems?.some((item) => item.ConditionCheck)) {
          fenced.push(command);
        }
      }
      return false;
    });
    await new ResourceRepository(stalled, config.tableName).commitAtomically(writes);
    expect(staged.length).toBeGreaterThan(1);
    expect(fenced).toEqual([]);
    expect(await seen(repository)).toEqual(all);
    expect(await leftovers(s)).toEqual([]);
    // A duplicate of a staging request landing after the transaction was finalized: its items exist, so none is written.
    expect(await rejection(client.send(new TransactWriteCommand(staged[0].input)))).toBeInstanceOf(TransactionCanceledException);
    expect(await seen(repository)).toEqual(all);
    expect(await leftovers(s)).toEqual([]);
  });

  it('a stage landing after the transaction was aborted and rolled back: its writer, alive, removes it; nothing shows', { timeout: 120_000 }, async () => {
    const { s, writes, seen, none } = await creations();
    const { stalled, reached, open } = gated(isStaging);
    const writing = rejection(new ResourceRepository(stalled, config.tableName).commitAtomically(writes));
    await reached;
    // Past its deadline the sweep aborts it and rolls back what it finds (nothing yet).
    expect(await later().recoverTransactions(s.tenant)).toBe(1);
    open();
    const error = await writing;
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(503);
    expect(await leftovers(s)).toEqual([]);
    expect(await seen(repository)).toEqual(none);
  });

  it('a stage landing after the rollback, its writer then dying: the orphans show nowhere, block no one, and a writer meeting one removes it', { timeout: 120_000 }, async () => {
    const { s, writes, seen, none } = await creations();
    const { stalled, reached, open } = gated(isStaging);
    const dying = new ResourceRepository(stalled, config.tableName, {
      faults: {
        after: (stage) => {
          if (stage === 'staged') {
            throw new Crash(stage);
          }
        },
      },
    });
    const writing = rejection(dying.commitAtomically(writes));
    await reached;
    expect(await later().recoverTransactions(s.tenant)).toBe(1);
    open();
    expect(await writing).toBeInstanceOf(Crash);
    // Marked by a transaction whose record is gone.
    const orphans = await leftovers(s);
    expect(orphans.filter((item) => item.endsWith(' CURRENT'))).toHaveLength(writes.length);
    expect(await seen(repository)).toEqual(none);
    expect(await seen(later())).toEqual(none);

    const target = s.key('Observation', 'new-3');
    const written = await repository.write(target, {}, () => ({ kind: 'write', method: 'PUT', resource: observation('new-3', 'Patient/p-0', 'after') }));
    expect(written.previous).toBeUndefined();
    expect(written.version?.version).toBe(1);
    expect((await repository.instanceHistory(target, { count: 10 })).items.map((v) => v.version)).toEqual([1]);
    expect(await searchIds(contextOf(repository, s.tenant), 'Observation', { code: [`${SYSTEM}|after`] })).toEqual(['new-3']);
    expect((await leftovers(s)).filter((item) => item.includes('#new-3 '))).toEqual([]);
  });

  it('are not sent once the deadline is less than half the lease away: the transaction is rolled back instead', { timeout: 120_000 }, async () => {
    const { s, writes, seen, none } = await creations();
    let calls = 0;
    // The first reading of the clock sets the deadline; by the staging, 31 s have passed.
    const slow = new ResourceRepository(client, config.tableName, { clock: () => Date.now() + (calls++ === 0 ? 0 : 31_000) });
    resetDynamoUsage();
    const error = await rejection(slow.commitAtomically(writes));
    expect((error as FhirError).status).toBe(503);
    // The record and list, and nothing staged.
    expect(dynamoUsage.operations.TransactWriteItems).toBe(1);
    expect(await leftovers(s)).toEqual([]);
    expect(await seen(repository)).toEqual(none);
  });

  it('a finalize arriving after a later write to the resource does not undo that write', { timeout: 120_000 }, async () => {
    const { s, writes, all } = await creations();
    let committed = false;
    // The writer's finalizing requests wait (its commit, an UpdateItem, went through).
    const { stalled, reached, open } = gated((command) => {
      committed ||= command instanceof UpdateCommand;
      return committed && command instanceof TransactWriteCommand;
    });
    const writing = new ResourceRepository(stalled, config.tableName).commitAtomically(writes);
    await reached;
    const target = s.key('Observation', 'new-5');
    // The next writer finalizes the committed transaction, then writes version 2.
    const updated = await repository.write(target, {}, (current) => ({ kind: 'write', method: 'PUT', resource: { ...(current?.resource as Resource), status: 'amended' } as Resource }));
    expect(updated.previous?.version).toBe(1);
    open();
    expect(await writing).toHaveLength(writes.length);
    const current = await repository.readCurrent(target);
    expect([current?.version, (current?.resource as { status?: string }).status]).toEqual([2, 'amended']);
    expect((await repository.instanceHistory(target, { count: 10 })).items.map((v) => v.version)).toEqual([2, 1]);
    expect((await repository.readCurrentMany(s.tenant, range(s.created, 'new-').map((id) => ({ resourceType: 'Observation', id }))))).toHaveLength(all.current);
    expect(await leftovers(s)).toEqual([]);
  });
});
