/**
 * The recent-changes overlay as the stream processor leaves it, on the run's DynamoDB Local and
 * OpenSearch node: a batch never waits for the settle time; the items it indexed stop counting
 * for OpenSearch searches a refresh interval later while they still count for the DynamoDB engine
 * until the settle time has passed; a later batch removes the items nobody needs any more, never
 * a newer write's, and a backlog's changes, settled already, are removed without being marked;
 * and the 503 limit counts only the items still needed. Each batch is the
 * CURRENT item the table holds, as its stream record carries it.
 */
import { randomUUID } from 'node:crypto';
import { SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/audit/audit-log.js';
import { config } from '../../../core/config.js';
import { EventPublisher } from '../../../core/events/publisher.js';
import { createResource, updateResource, type FhirContext } from '../../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../../core/search/dynamodb/engine.js';
import { ResourceIndexer } from '../../../core/search/opensearch/indexer.js';
import { INDEX_REFRESH_MS } from '../../../core/search/opensearch/mapping.js';
import { createDocumentClient } from '../../../core/storage/dynamo-client.js';
import { CURRENT_SK, RECENT_CHANGE_SHARDS, recentChangesPK, resourcePK } from '../../../core/storage/keys.js';
import { RecentChanges, type Reliance } from '../../../core/storage/recent-changes.js';
import { ResourceRepository } from '../../../core/storage/repository.js';
import type { ResourceVersion } from '../../../core/storage/version-items.js';
import type { TableStreamRecord } from '../../../core/stream/changes.js';
import { StreamProcessor } from '../../../core/stream/processor.js';
import { parseTenantId } from '../../../core/tenant.js';
import { useOpenSearchIndex } from '../../support/opensearch.js';

const search = useOpenSearchIndex();
const { region, dynamoEndpoint, tableName } = config();
const documents = createDocumentClient({ region, dynamoEndpoint });
const repository = new ResourceRepository(documents, tableName);

/** Far longer than any test: a processor that waited for it would never finish a batch. */
const SETTLE_MS = 60 * 60 * 1000;
const BY_INDEX: Reliance = { indexRefreshMs: INDEX_REFRESH_MS };

/**
 * A tenant of its own, a processor over the real indexer, audit log and (topic-less) publisher, and
 * a clock the test moves; the processor reaches the overlay through `overlayClient`.
 */
function rig(overlayClient: DynamoDBDocumentClient = documents) {
  const tenant = parseTenantId(`recent-${randomUUID().slice(0, 8)}`);
  const clock = { now: Date.now() };
  const overlay = (options: { limit?: number } = {}) => new RecentChanges(repository, { settleMs: SETTLE_MS, now: () => clock.now, ...options });
  const processor = new StreamProcessor({
    indexer: new ResourceIndexer(search.client, search.index),
    auditLog: new AuditLog(documents, tableName),
    publisher: new EventPublisher(new SNSClient({ region }), { changeTopicArn: undefined, auditTopicArn: undefined, snsEndpoint: undefined }),
    recentChanges: new RecentChanges(new ResourceRepository(overlayClient, tableName), { settleMs: SETTLE_MS, now: () => clock.now }),
    now: () => clock.now,
  });
  const context: FhirContext = { repository, searchEngine: new DynamoSearchEngine(repository, 10_000), tenant, principal: 'test' };
  const patient = (family: string): Resource => ({ resourceType: 'Patient', name: [{ family }] });
  /** The ids a search relying on `reliance` merges now. */
  const merged = async (reliance: Reliance, options: { limit?: number } = {}) => [...(await overlay(options).reader(tenant, reliance)('Patient')).refs].sort();
  return {
    tenant,
    clock,
    processor,
    create: (family: string) => createResource(context, 'Patient', patient(family)),
    update: (id: string, family: string) => updateResource(context, 'Patient', id, { ...patient(family), id }, undefined).then(({ version }) => version as ResourceVersion),
    merged,
    /** Every item in the type's shards, needed or not. */
    stored: async () => {
      const ids: string[] = [];
      for (let shard = 0; shard < RECENT_CHANGE_SHARDS; shard++) {
        const { Items = [] } = await documents.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': recentChangesPK(tenant, 'Patient', shard) }, ConsistentRead: true }));
        ids.push(...Items.map((item) => `Patient/${item.SK}`));
      }
      return ids.sort();
    },
    /** The stream records of these versions: their CURRENT items as the table holds them now. */
    records: async (...versions: ResourceVersion[]): Promise<TableStreamRecord[]> =>
      Promise.all(
        versions.map(async (version, index) => {
          const keys = { PK: resourcePK(tenant, 'Patient', version.id), SK: CURRENT_SK };
          const { Item } = await documents.send(new GetCommand({ TableName: tableName, Key: keys, ConsistentRead: true }));
          return { sequenceNumber: `${Date.now()}${index}`, eventName: 'INSERT' as const, keys, newImage: Item };
        }),
      ),
    /** The same, as a large transaction's finalizing writes it: over its marked placeholder. */
    finalizedRecords: async (...versions: ResourceVersion[]): Promise<TableStreamRecord[]> =>
      Promise.all(
        versions.map(async (version, index) => {
          const keys = { PK: resourcePK(tenant, 'Patient', version.id), SK: CURRENT_SK };
          const { Item } = await documents.send(new GetCommand({ TableName: tableName, Key: keys, ConsistentRead: true }));
          return { sequenceNumber: `${Date.now()}${index}`, eventName: 'MODIFY' as const, keys, newImage: Item, oldImage: { ...keys, pendingTx: 'tx' } };
        }),
      ),
  };
}

describe('the stream processor and the recent-changes overlay', () => {
  it('processes a batch without waiting for the settle time, and marks its items indexed', async () => {
    const r = rig();
    const written = await r.create('Marked');
    const failures = await r.processor.process(await r.records(written));
    expect([...failures.values()]).toEqual([]);
    const ref = `Patient/${written.id}`;
    expect(await r.stored(), 'the item stays until the settle time has passed').toEqual([ref]);
    expect(await r.merged(BY_INDEX), 'an OpenSearch search still merges it until the index has refreshed').toEqual([ref]);
    r.clock.now += INDEX_REFRESH_MS + 1;
    expect(await r.merged(BY_INDEX), 'then it leaves it to the index').toEqual([]);
    expect(await r.merged('gsis'), 'the DynamoDB engine merges it until the settle time has passed').toEqual([ref]);
    r.clock.now += SETTLE_MS;
    expect(await r.merged('gsis')).toEqual([]);
  });

  it('keeps merging a change it has not indexed, whatever its age', async () => {
    const r = rig();
    const written = await r.create('Unindexed');
    r.clock.now += SETTLE_MS + INDEX_REFRESH_MS;
    expect(await r.merged(BY_INDEX)).toEqual([`Patient/${written.id}`]);
  });

  it('removes the items nobody needs at a later batch, never a newer write’s', async () => {
    const r = rig();
    const settled = await r.create('Settled');
    const rewritten = await r.create('Rewritten');
    await r.processor.process(await r.records(settled, rewritten));
    const newer = await r.update(rewritten.id, 'Newer');
    r.clock.now += SETTLE_MS + INDEX_REFRESH_MS;
    const later = await r.create('Later');
    await r.processor.process(await r.records(later));
    expect(await r.stored(), 'the settled item went; the newer write’s and the new batch’s stay').toEqual([`Patient/${rewritten.id}`, `Patient/${later.id}`].sort());
    expect(await r.merged(BY_INDEX), 'both still merged: the newer write is not indexed, the later one not searchable yet').toEqual([`Patient/${newer.id}`, `Patient/${later.id}`].sort());
  });

  it('removes the newest processed version’s item even when an older record is delivered again after it', async () => {
    const r = rig();
    const first = await r.create('First');
    const firstRecords = await r.records(first);
    const second = await r.update(first.id, 'Second');
    await r.processor.process(await r.records(second));
    await r.processor.process(firstRecords);
    r.clock.now += SETTLE_MS + INDEX_REFRESH_MS;
    const later = await r.create('Later');
    await r.processor.process(await r.records(later));
    expect(await r.stored()).toEqual([`Patient/${later.id}`]);
  });

  it('leaves a backlog’s change unmarked and removes its item at the first batch after the index refreshed', async () => {
    const r = rig();
    const old = await r.create('Old');
    r.clock.now += SETTLE_MS;
    await r.processor.process(await r.records(old));
    expect(await r.merged(BY_INDEX), 'not marked: it goes when it would stop counting').toEqual([`Patient/${old.id}`]);
    r.clock.now += INDEX_REFRESH_MS;
    const next = await r.create('Next');
    await r.processor.process(await r.records(next));
    expect(await r.stored()).toEqual([`Patient/${next.id}`]);
  });

  it('counts a large transaction’s settle time from its finalizing, not from its time', async () => {
    const r = rig();
    const finalized = await r.create('Finalized');
    // Finalized (and its stream record read) long after the transaction's lastUpdated.
    r.clock.now += SETTLE_MS + INDEX_REFRESH_MS;
    await r.processor.process(await r.finalizedRecords(finalized));
    r.clock.now += INDEX_REFRESH_MS + 1;
    const next = await r.create('Next');
    await r.processor.process(await r.records(next));
    expect(await r.stored(), 'the GSIs may still lack its final keys').toEqual([`Patient/${finalized.id}`, `Patient/${next.id}`].sort());
    r.clock.now += SETTLE_MS;
    const last = await r.create('Last');
    await r.processor.process(await r.records(last));
    expect(await r.stored()).toEqual([`Patient/${last.id}`]);
  });

  it('tries a removal DynamoDB refused again at a later batch', async () => {
    let refusals = 1;
    const refusing = new Proxy(documents, {
      get: (target, property, receiver) =>
        property === 'send'
          ? async (command: Parameters<typeof documents.send>[0]) => {
              if (command instanceof DeleteCommand && refusals-- > 0) {
                throw new Error('busy');
              }
              return target.send(command);
            }
          : Reflect.get(target, property, receiver),
    });
    const r = rig(refusing);
    const first = await r.create('First');
    await r.processor.process(await r.records(first));
    r.clock.now += SETTLE_MS + INDEX_REFRESH_MS;
    const second = await r.create('Second');
    await r.processor.process(await r.records(second));
    expect(await r.stored(), 'the removal was refused').toEqual([`Patient/${first.id}`, `Patient/${second.id}`].sort());
    const third = await r.create('Third');
    await r.processor.process(await r.records(third));
    expect(await r.stored(), 'and made at the next batch').toEqual([`Patient/${second.id}`, `Patient/${third.id}`].sort());
  });

  it('counts only the items a search still needs against the limit', async () => {
    const r = rig();
    const indexed = await r.create('Indexed');
    await r.processor.process(await r.records(indexed));
    const pending = await r.create('Pending');
    r.clock.now += INDEX_REFRESH_MS + 1;
    expect(await r.merged(BY_INDEX, { limit: 1 })).toEqual([`Patient/${pending.id}`]);
    await expect(r.merged('gsis', { limit: 1 })).rejects.toMatchObject({ status: 503 });
  });
});
