/**
 * The export worker's promise that a run survives being cut short: a chunk interrupted mid-way
 * (its Lambda killed after writing some files, or out of time) goes on from its last recorded
 * file, and the export ends with every current resource exactly once — no duplicates, no gaps,
 * counts equal to a search's total, a deleted resource absent. Real DynamoDB Local and fauxqs S3;
 * the queue collects messages so the test decides when each runs.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import type { ExportFiles, ExportMessage, ExportQueue } from '../../../core/export/drivers.js';
import { ExportJobs } from '../../../core/export/jobs.js';
import { parseExportRequest } from '../../../core/export/parameters.js';
import { s3ExportFiles } from '../../../core/export/s3.js';
import { ExportWorker, type WorkBudget } from '../../../core/export/worker.js';
import { createResource, deleteResource, type FhirContext, parseSearchRequest } from '../../../core/fhir/interactions.js';
import { DEFAULT_PREFERENCES } from '../../../core/fhir/request.js';
import { parseTenantId } from '../../../core/tenant.js';
import { Components } from '../../../core/wiring.js';
import { createLocalBucket } from '../../../scripts/local/storage.js';
import { type LocalMessaging, startLocalMessaging } from '../../../scripts/local/messaging.js';

let messaging: LocalMessaging;
let components: Components;
let files: ExportFiles;
const tenant = parseTenantId(`resume-${randomUUID().slice(0, 8)}`);
let context: FhirContext;
const sent: ExportMessage[] = [];
const queue: ExportQueue = { send: async (messages) => void sent.push(...messages) };

beforeAll(async () => {
  messaging = await startLocalMessaging();
  const bucket = await createLocalBucket(messaging, `resume-${randomUUID().slice(0, 8)}`);
  const config = loadConfig({ ...process.env, ...messaging.env, ...bucket.env, FHIR_EXPORT_BUCKET: bucket.name, FHIR_EXPORT_QUEUE_URL: 'unused', FHIR_EXPORT_MAX_FILE_BYTES: '4000', FHIR_EXPORT_CHUNK_RESOURCES: '70' });
  files = s3ExportFiles(config.export!, config.region);
  components = new Components(config, { exportFiles: () => files, exportQueue: () => queue });
  context = { repository: components.repository, searchEngine: components.tableSearch, tenant };
  const patient = await createResource(context, 'Patient', { resourceType: 'Patient' });
  for (let index = 0; index < 160; index++) {
    await createResource(context, 'Observation', { resourceType: 'Observation', status: 'final', code: { text: `o${index}` }, subject: { reference: `Patient/${patient.id}` } });
  }
}, 120_000);

afterAll(async () => {
  await messaging?.stop();
});

const generous = (): WorkBudget => ({ stopAt: Date.now() + 600_000, leaseUntil: Date.now() + 600_000 });

/** Files the worker writes, failing (like a killed Lambda) once `limit` have been written. */
function dyingAfter(limit: number): ExportFiles {
  let written = 0;
  return {
    ...files,
    async put(key, body) {
      if (written++ >= limit) {
        throw new Error('Lambda killed');
      }
      await files.put(key, body);
    },
  };
}

async function kickOff(): Promise<string> {
  const request = {
    method: 'GET' as const,
    path: '$export',
    query: { _type: ['Observation'] },
    prefer: { ...DEFAULT_PREFERENCES, respondAsync: true },
    baseUrl: 'http://local',
    body: { kind: 'http' as const, contentType: '', bytes: Buffer.alloc(0) },
  };
  return components.exports.kickOff(tenant, 'tester', parseExportRequest(request, 'system', undefined, 1_000_000), 'http://local/$export?_type=Observation');
}

async function exported(exportId: string): Promise<Resource[]> {
  const status = await components.exports.status(tenant, 'tester', exportId);
  if (status.kind !== 'completed') {
    throw new Error(`export is ${status.kind}`);
  }
  const lines = await Promise.all(status.manifest.output.map(async (file) => (await (await fetch(file.url)).text()).split('\n').filter(Boolean)));
  return lines.flat().map((line) => JSON.parse(line) as Resource);
}

it('a chunk killed mid-way and run again, and chunks out of time, resume with no duplicates and no gaps', async () => {
  const deleted = (await components.tableSearch.search(tenant, parseSearchRequest({ resourceType: 'Observation', parameters: { _count: ['1'] }, strict: true, defaultCount: 1, maxCount: 1 }))).matches[0];
  await deleteResource(context, 'Observation', deleted.id, undefined);
  const exportId = await kickOff();
  const healthy = new ExportWorker({ repository: components.repository, jobs: new ExportJobs(components.documents, components.config.tableName), files, queue, config: components.config.export! });
  await healthy.handle(sent.shift()!, generous());
  const chunks = sent.splice(0);
  expect(chunks.length).toBeGreaterThan(1);

  // The first chunk dies after two files; the others run out of time after each resource.
  const dying = new ExportWorker({ repository: components.repository, jobs: new ExportJobs(components.documents, components.config.tableName), files: dyingAfter(2), queue, config: components.config.export! });
  await expect(dying.handle(chunks[0], generous())).rejects.toThrow('Lambda killed');
  const recorded = await components.exportJobs.withChunks(tenant, exportId);
  expect(recorded!.chunks[0].files).toHaveLength(2);
  expect(recorded!.chunks[0].done).toBe(false);
  for (const message of chunks.slice(1)) {
    await healthy.handle(message, { stopAt: Date.now(), leaseUntil: Date.now() + 60_000 });
  }
  // The redelivered first chunk and every continuation the others queued for themselves.
  const pending = [chunks[0]];
  while (pending.length > 0 || sent.length > 0) {
    pending.push(...sent.splice(0));
    await healthy.handle(pending.shift()!, { stopAt: Date.now() + 50, leaseUntil: Date.now() + 60_000 });
  }

  const resources = await exported(exportId);
  const ids = resources.map((resource) => resource.id);
  expect(new Set(ids).size).toBe(ids.length);
  const total = (await components.tableSearch.search(tenant, parseSearchRequest({ resourceType: 'Observation', parameters: { _total: ['accurate'], _summary: ['count'] }, strict: true, defaultCount: 1, maxCount: 1000 }))).total;
  expect(ids.length).toBe(total);
  expect(ids.length).toBe(159);
  expect(ids).not.toContain(deleted.id);
  const current = await components.repository.readCurrentMany(tenant, resources.map((resource) => ({ resourceType: 'Observation', id: resource.id as string })));
  expect(resources.map((resource) => resource.meta?.versionId)).toEqual(current.map((version) => String(version.version)));
  // Small files: the interrupted run and the time-outs left many, none of them a stray copy.
  const status = await components.exports.status(tenant, 'tester', exportId);
  expect(status.kind === 'completed' && status.manifest.output.length).toBeGreaterThan(10);
});

it('a failed export reports its error and leaves no files', async () => {
  const exportId = await kickOff();
  const worker = new ExportWorker({ repository: components.repository, jobs: components.exportJobs, files: dyingAfter(1), queue, config: components.config.export! });
  await worker.handle(sent.shift()!, generous());
  const [first, ...rest] = sent.splice(0);
  await expect(worker.handle(first, generous())).rejects.toThrow('Lambda killed');
  await worker.abandon(first, 'Error: Lambda killed');
  for (const message of rest) {
    await worker.handle(message, generous());
  }
  const status = await components.exports.status(tenant, 'tester', exportId);
  expect(status).toEqual({ kind: 'failed', error: 'Error: Lambda killed' });
  expect(await files.deletePrefix(`Observation/tenant=${tenant}/export=${exportId}/`)).toBe(0);
});
