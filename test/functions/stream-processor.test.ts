/**
 * The event backbone end to end, on real parts: the local API writes to its own table in
 * DynamoDB Local, the stream poller feeds the table's real stream to the stream-processor
 * handler, which indexes into a real OpenSearch node and publishes to SNS (fauxqs); subscribers
 * are SQS queues with SNS filter policies, as a customer's would be.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditLog } from '../../core/audit/audit-log.js';
import { loadConfig } from '../../core/config.js';
import { openSearchClient } from '../../core/search/opensearch/client.js';
import { ResourceIndexer } from '../../core/search/opensearch/indexer.js';
import { ensureIndex } from '../../core/search/opensearch/mapping.js';
import { createDocumentClient } from '../../core/storage/dynamo-client.js';
import { parseTenantId } from '../../core/tenant.js';
import { type LocalMessaging, type LocalSubscriber, startLocalMessaging, subscribeQueue } from '../../scripts/local/messaging.js';
import { startLocalStreamProcessing } from '../../scripts/local/stream-processing.js';
import type { StreamPoller } from '../../scripts/local/stream-poller.js';
import { ensureLocalTable } from '../../scripts/local/table.js';
import { useLocalApi } from '../support/local-api.js';
import { indexedVersions, receiveAll, tableVersions } from '../support/stream.js';

const suffix = randomUUID().slice(0, 8);
const tableName = `stream-${suffix}`;
const index = `fhir-stream-${suffix}`;
const endpoint = process.env.DYNAMODB_ENDPOINT as string;
// The handlers read their configuration at the first request: this file's own table and index.
Object.assign(process.env, { FHIR_TABLE_NAME: tableName, OPENSEARCH_URL: inject('openSearchUrl'), OPENSEARCH_INDEX: index });

const api = useLocalApi();
const tenantA = `events-a-${suffix}`;
const tenantB = `events-b-${suffix}`;
const user = { 'x-user': 'alice@example.org' };

let messaging: LocalMessaging;
let poller: StreamPoller;
let changesOfA: LocalSubscriber;
let auditOfA: LocalSubscriber;
let deletesOfAnyone: LocalSubscriber;

beforeAll(async () => {
  await ensureLocalTable(endpoint, tableName);
  messaging = await startLocalMessaging();
  Object.assign(process.env, messaging.env);
  const config = loadConfig();
  await ensureIndex(openSearchClient(config.openSearch!, config.region), index);
  changesOfA = await subscribeQueue(messaging, messaging.changeTopicArn, { filterPolicy: { tenantId: [tenantA] } });
  auditOfA = await subscribeQueue(messaging, messaging.auditTopicArn, { filterPolicy: { tenantId: [tenantA] } });
  deletesOfAnyone = await subscribeQueue(messaging, messaging.changeTopicArn, { filterPolicy: { action: ['delete'] } });
  poller = await startLocalStreamProcessing({ endpoint, tableName, retryBackoff: { initialMs: 20, maxMs: 200 } });
}, 60_000);

afterAll(async () => {
  await poller?.stop();
  await messaging?.stop();
});

/** Until the stream is processed twice over: resource changes, then the audit records they wrote. */
async function settle(): Promise<void> {
  await poller.drain();
  await poller.drain();
  const config = loadConfig();
  await openSearchClient(config.openSearch!, config.region).indices.refresh({ index });
}


describe('a scripted session of writes and reads', () => {
  let patientId: string;
  let otherId: string;

  beforeAll(async () => {
    const created = await api.request('POST', '/Patient', { tenant: tenantA, headers: user, body: { resourceType: 'Patient', name: [{ family: 'Streamington' }] } });
    expect(created.status).toBe(201);
    patientId = created.json.id;
    const updated = await api.request('PUT', `/Patient/${patientId}`, {
      tenant: tenantA,
      headers: user,
      body: { resourceType: 'Patient', id: patientId, name: [{ family: 'Streamington', given: ['Ada'] }] },
    });
    expect(updated.status).toBe(200);
    expect((await api.request('GET', `/Patient/${patientId}`, { tenant: tenantA, headers: user })).status).toBe(200);
    expect((await api.request('GET', '/Patient?family=Streamington', { tenant: tenantA, headers: user })).status).toBe(200);
    expect((await api.request('DELETE', `/Patient/${patientId}`, { tenant: tenantA, headers: user })).status).toBe(204);
    expect((await api.request('GET', `/Patient/${patientId}/_history/1`, { tenant: tenantA, headers: user })).status).toBe(200);
    const other = await api.request('POST', '/Patient', { tenant: tenantB, body: { resourceType: 'Patient', name: [{ family: 'Streamington' }] } });
    expect(other.status).toBe(201);
    otherId = other.json.id;
    expect((await api.request('DELETE', `/Patient/${otherId}`, { tenant: tenantB })).status).toBe(204);
    await settle();
  }, 60_000);

  it("delivers exactly tenant A's change events, in version order, with filterable attributes and stable ids", async () => {
    const events = await receiveAll(changesOfA);
    const bodies = events.map((event) => JSON.parse(event.message)).sort((a, b) => Number(a.versionId) - Number(b.versionId));
    expect(bodies.map((body) => [body.action, body.reference])).toEqual([
      ['create', `Patient/${patientId}/_history/1`],
      ['update', `Patient/${patientId}/_history/2`],
      ['delete', `Patient/${patientId}/_history/3`],
    ]);
    for (const event of events) {
      const body = JSON.parse(event.message);
      expect(event.attributes).toMatchObject({ tenantId: tenantA, resourceType: 'Patient', action: body.action, eventId: body.eventId });
      expect(body.author).toBe('alice@example.org');
    }
    expect(new Set(bodies.map((body) => body.eventId)).size).toBe(3);
    expect(bodies[1].resource.name[0].given).toEqual(['Ada']);
    expect(bodies[2].resource).toBeUndefined();
  });

  it('lets a subscriber filter on the action alone, across tenants', async () => {
    const events = await receiveAll(deletesOfAnyone);
    expect(events.map((event) => [event.attributes.tenantId, JSON.parse(event.message).id]).sort()).toEqual(
      [
        [tenantA, patientId],
        [tenantB, otherId],
      ].sort(),
    );
  });

  it("delivers exactly tenant A's AuditEvents: every write from the stream, every read from the handlers", async () => {
    const events = (await receiveAll(auditOfA)).map((event) => ({ attributes: event.attributes, audit: JSON.parse(event.message) }));
    const summary = events.map(({ audit }) => `${audit.subtype[0].code} ${audit.action} ${audit.entity[0].what?.reference ?? 'query'}`).sort();
    expect(summary).toEqual(
      [
        `create C Patient/${patientId}/_history/1`,
        `update U Patient/${patientId}/_history/2`,
        `read R Patient/${patientId}/_history/2`,
        'search-type E query',
        `delete D Patient/${patientId}/_history/3`,
        `vread R Patient/${patientId}/_history/1`,
      ].sort(),
    );
    for (const { attributes, audit } of events) {
      expect(audit.resourceType).toBe('AuditEvent');
      expect(audit.agent[0].who.identifier.value).toBe('alice@example.org');
      expect(audit.source.site).toBe(tenantA);
      expect(audit.outcome).toBe('0');
      expect(attributes).toMatchObject({ tenantId: tenantA, resourceType: 'Patient', eventId: audit.id });
    }
    const search = events.find(({ audit }) => audit.subtype[0].code === 'search-type')!.audit;
    expect(Buffer.from(search.entity[0].query, 'base64').toString()).toBe('/Patient?family=Streamington');
  });

  it("answers an audit query by tenant and time range from the table, oldest first", async () => {
    const config = loadConfig();
    const log = new AuditLog(createDocumentClient(config), tableName);
    const range = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
    const first = await log.query(parseTenantId(tenantA), range, { limit: 4 });
    const rest = await log.query(parseTenantId(tenantA), range, { limit: 4, cursor: first.next });
    const all = [...first.events, ...rest.events];
    expect(all).toHaveLength(6);
    expect(rest.next).toBeUndefined();
    expect(all.map((event) => event.recorded)).toEqual(all.map((event) => event.recorded).sort());
    expect(await log.count(parseTenantId(tenantA), range)).toBe(6);
    expect(await log.count(parseTenantId(tenantB), range)).toBe(2);
  });

  it('leaves the index equal to the table: deleted resources are gone from it', async () => {
    const config = loadConfig();
    for (const tenant of [tenantA, tenantB]) {
      expect(await indexedVersions(openSearchClient(config.openSearch!, config.region), index, tenant)).toEqual(await tableVersions(createDocumentClient(config), tableName, tenant));
    }
    const search = await api.request('GET', '/Patient?family=Streamington', { tenant: tenantA });
    expect(search.json.entry ?? []).toEqual([]);
  });

  it('makes a new resource searchable through OpenSearch once the stream is processed', async () => {
    const created = await api.request('POST', '/Patient', { tenant: tenantA, body: { resourceType: 'Patient', name: [{ family: 'Indexwell' }] } });
    await settle();
    const search = await api.request('GET', '/Patient?family=Indexwell', { tenant: tenantA });
    expect(search.json.entry.map((entry: any) => entry.resource.id)).toEqual([created.json.id]);
    const otherTenant = await api.request('GET', '/Patient?family=Indexwell', { tenant: tenantB });
    expect(otherTenant.json.entry ?? []).toEqual([]);
  });

  it('answers searches from the index, and reads by id from the table', async () => {
    // A document only the index has: the search handler can only have found it in OpenSearch.
    const config = loadConfig();
    const indexer = new ResourceIndexer(openSearchClient(config.openSearch!, config.region), index);
    const phantom = { resourceType: 'Patient' as const, id: `phantom-${suffix}`, meta: { versionId: '1', lastUpdated: new Date().toISOString() }, name: [{ family: 'Phantomson' }] };
    expect(await indexer.apply([{ tenant: parseTenantId(tenantA), resourceType: 'Patient', id: phantom.id, version: 1, resource: phantom }], { refresh: true })).toEqual([undefined]);
    const search = await api.request('GET', '/Patient?family=Phantomson', { tenant: tenantA });
    expect(search.json.entry.map((entry: any) => entry.resource.id)).toEqual([phantom.id]);
    expect((await api.request('GET', `/Patient?_id=${phantom.id}`, { tenant: tenantA })).json.entry ?? []).toEqual([]);
    expect((await api.request('GET', `/Patient/${phantom.id}`, { tenant: tenantA })).status).toBe(404);
  });
});

