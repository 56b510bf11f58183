/**
 * The analytics schedule without OpenSearch, on real parts: the local API writes to a table of
 * this file's own in DynamoDB Local, the stream poller feeds its stream to the stream-processor
 * handler, which records each tenant in the tenant registry; the analytics function, invoked as
 * the schedule invokes it (no tenant in the event), reports on every registered tenant and on the
 * configured ones, and each report counts that tenant's data.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.js';
import { createDocumentClient } from '../../core/storage/dynamo-client.js';
import { TenantRegistry } from '../../core/storage/tenant-registry.js';
import { handler as analyticsHandler } from '../../functions/analytics.js';
import { type LocalMessaging, startLocalMessaging } from '../../scripts/local/messaging.js';
import { startLocalStreamProcessing } from '../../scripts/local/stream-processing.js';
import type { StreamPoller } from '../../scripts/local/stream-poller.js';
import { createLocalBucket } from '../../scripts/local/storage.js';
import { ensureLocalTable } from '../../scripts/local/table.js';
import { useLocalApi } from '../support/local-api.js';

const suffix = randomUUID().slice(0, 8);
const tableName = `analytics-schedule-${suffix}`;
const endpoint = process.env.DYNAMODB_ENDPOINT as string;
// The handlers read their configuration once, at first use: this file's own table, so the
// registry holds only this file's tenants.
Object.assign(process.env, { FHIR_TABLE_NAME: tableName });

const api = useLocalApi();
const clinic = `clinic-${suffix}`;
const lab = `lab-${suffix}`;
/** Wrote nothing since the registry exists: named in FHIR_ANALYTICS_TENANTS. */
const legacy = `legacy-${suffix}`;

let messaging: LocalMessaging;
let poller: StreamPoller;

beforeAll(async () => {
  await ensureLocalTable(endpoint, tableName);
  messaging = await startLocalMessaging();
  const bucket = await createLocalBucket(messaging, `fhir-analytics-${suffix}`);
  Object.assign(process.env, messaging.env, bucket.env, { FHIR_ANALYTICS_BUCKET: bucket.name, FHIR_ANALYTICS_TENANTS: legacy });
  poller = await startLocalStreamProcessing({ endpoint, tableName, retryBackoff: { initialMs: 20, maxMs: 200 } });
}, 60_000);

afterAll(async () => {
  await poller?.stop();
  await messaging?.stop();
});

const registry = () => new TenantRegistry({ client: createDocumentClient(config()), tableName });

async function create(tenant: string, body: object): Promise<void> {
  expect((await api.request('POST', `/${(body as { resourceType: string }).resourceType}`, { tenant, body })).status).toBe(201);
}

describe('the tenant registry', () => {
  it('lists each tenant that wrote, once, however many batches it wrote in', async () => {
    expect(await registry().tenants()).toEqual([]);
    await create(clinic, { resourceType: 'Patient', gender: 'female', birthDate: '1980-02-02' });
    await create(lab, { resourceType: 'Observation', status: 'final', code: { text: 'glucose' } });
    await poller.drain();
    expect(await registry().tenants()).toEqual([clinic, lab]);

    await create(clinic, { resourceType: 'Patient', gender: 'male', birthDate: '1990-03-03' });
    await poller.drain();
    expect(await registry().tenants()).toEqual([clinic, lab]);
  });
});

describe('the schedule', () => {
  it('reports on every registered and configured tenant, without a request', async () => {
    expect(await analyticsHandler({})).toEqual({ started: 3 });
    const clinicReport = await api.request('GET', '/$analytics', { tenant: clinic });
    expect(clinicReport.status).toBe(200);
    expect(clinicReport.json.resourcesByType.data).toEqual([{ resourceType: 'Patient', count: 2 }]);
    const labReport = await api.request('GET', '/$analytics', { tenant: lab });
    expect(labReport.json.resourcesByType.data).toEqual([{ resourceType: 'Observation', count: 1 }]);
    const legacyReport = await api.request('GET', '/$analytics', { tenant: legacy });
    expect(legacyReport.status).toBe(200);
    expect(legacyReport.json.resourcesByType.data).toEqual([]);
  }, 120_000);
});
