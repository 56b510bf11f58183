/**
 * The ingest command: what it sends and in which order, resuming, retrying and reporting (against
 * a fake server that records every Bundle), and loading into the real local API.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ingest, type IngestOptions } from '../../scripts/ingest/ingest.js';
import { SYNTHEA_DIR, syntheaResources } from '../../scripts/load/synthea.js';
import { type ApiResponse, type LocalApiClient, useLocalApi } from '../support/local-api.js';

const scratch = await mkdtemp(join(tmpdir(), 'fhir-ingest-test-'));

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh folder holding `files`, and a state file beside it. */
async function folderOf(files: Record<string, string>): Promise<{ folder: string; stateFile: string }> {
  const dir = await mkdtemp(join(scratch, 'run-'));
  const folder = join(dir, 'data');
  await mkdir(folder);
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(folder, name), content);
  }
  return { folder, stateFile: join(dir, 'state.json') };
}

const ndjson = (resources: readonly object[]) => `${resources.map((resource) => JSON.stringify(resource)).join('\n')}\n`;
const patient = (id: string, extra: Partial<Patient> = {}): Patient => ({ resourceType: 'Patient', id, ...extra });

function transaction(...resources: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource, request: { method: 'POST', url: resource.resourceType } })),
  };
}

// ---- a fake server -------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** How the fake server answers a Bundle; `attempt` counts the POSTs of Bundles with the same first entry. */
type Responder = (bundle: Bundle, attempt: number) => Answer | 'drop-connection';

interface FakeServer {
  readonly baseUrl: string;
  /** Every POSTed Bundle, in arrival order. */
  readonly posted: Bundle[];
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.close();
  }
});

const succeed: Responder = (bundle) => ({
  status: 200,
  body: { resourceType: 'Bundle', type: 'transaction-response', entry: bundle.entry!.map(() => ({ response: { status: '201 Created' } })) },
});

async function fakeServer(respond: Responder = succeed): Promise<FakeServer> {
  const posted: Bundle[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) {
      body += chunk;
    }
    if (req.method !== 'POST') {
      res.end('{"resourceType":"CapabilityStatement"}');
      return;
    }
    const bundle = JSON.parse(body) as Bundle;
    posted.push(bundle);
    const answer = respond(bundle, posted.filter((other) => firstId(other) === firstId(bundle)).length);
    if (answer === 'drop-connection') {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/fhir+json', ...answer.headers });
    res.end(JSON.stringify(answer.body ?? {}));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push({ close: () => server.close() && server.closeAllConnections() });
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posted };
}

const firstId = (bundle: Bundle) => bundle.entry?.[0]?.resource?.id;
const requestUrls = (bundles: readonly Bundle[]) => bundles.flatMap((bundle) => bundle.entry!.map((entry) => entry.request!.url));
const fastRetry = { attempts: 4, baseDelayMs: 1 };

describe('ingest against a fake server', () => {
  it('cuts NDJSON into transactions of PUT Type/id, Organization before Patient before the rest', async () => {
    const { folder, stateFile } = await folderOf({
      'Encounter.000.ndjson': ndjson([1, 2, 3, 4, 5].map((n) => ({ resourceType: 'Encounter', id: `enc-${n}` }))).replace('\n', '\n\n'),
      'Patient.000.ndjson': ndjson([patient('pat-1'), patient('pat-2'), patient('pat-3')]),
      'Organization.000.ndjson': ndjson([{ resourceType: 'Organization', id: 'org-1' }]),
    });
    const server = await fakeServer();
    const summary = await ingest({ folder, stateFile, baseUrl: server.baseUrl, chunkSize: 2, concurrency: 4 });

    expect(summary).toMatchObject({ format: 'ndjson', files: 3, units: { loaded: 6, failed: 0 }, resources: { loaded: 9, failed: 0 }, failures: [] });
    for (const bundle of server.posted) {
      expect(bundle.type).toBe('transaction');
      expect(bundle.entry!.length).toBeLessThanOrEqual(2);
      for (const { resource, request } of bundle.entry!) {
        expect(request).toEqual({ method: 'PUT', url: `${resource!.resourceType}/${resource!.id}` });
      }
    }
    const urls = requestUrls(server.posted);
    expect(urls.slice(0, 4)).toEqual(['Organization/org-1', 'Patient/pat-1', 'Patient/pat-2', 'Patient/pat-3']);
    expect(urls.slice(4).sort()).toEqual(['Encounter/enc-1', 'Encounter/enc-2', 'Encounter/enc-3', 'Encounter/enc-4', 'Encounter/enc-5']);
  });

  it('resumes: a second run sends nothing, an edited chunk is sent again, restart sends everything', async () => {
    const { folder, stateFile } = await folderOf({ 'Patient.ndjson': ndjson([patient('a'), patient('b'), patient('c')]) });
    const server = await fakeServer();
    const options: IngestOptions = { folder, stateFile, baseUrl: server.baseUrl, chunkSize: 2 };
    await ingest(options);
    expect(server.posted).toHaveLength(2);

    const again = await ingest(options);
    expect(again).toMatchObject({ units: { loaded: 0, failed: 0, skipped: 2 }, resources: { loaded: 0, skipped: 3 } });
    expect(server.posted).toHaveLength(2);

    await writeFile(join(folder, 'Patient.ndjson'), ndjson([patient('a'), patient('b'), patient('c', { gender: 'female' })]));
    expect(await ingest(options)).toMatchObject({ units: { loaded: 1, skipped: 1 } });
    expect(requestUrls(server.posted.slice(2))).toEqual(['Patient/c']);

    expect(await ingest({ ...options, restart: true })).toMatchObject({ units: { loaded: 2, skipped: 0 } });
    expect(server.posted).toHaveLength(5);
    // The state is per server: the same folder into another one is loaded in full.
    const other = await fakeServer();
    expect(await ingest({ ...options, baseUrl: other.baseUrl })).toMatchObject({ units: { loaded: 2, skipped: 0 } });
  });

  it('retries 429, 5xx and dropped connections with backoff; a 4xx fails at once with its OperationOutcome', async () => {
    const { folder, stateFile } = await folderOf({
      'flaky.json': JSON.stringify(transaction(patient('flaky'))),
      'invalid.json': JSON.stringify(transaction(patient('invalid'))),
      'down.json': JSON.stringify(transaction(patient('down'))),
    });
    const flaky: (Answer | 'drop-connection')[] = [{ status: 503 }, 'drop-connection', { status: 429, headers: { 'retry-after': '0' } }];
    const server = await fakeServer((bundle, attempt) => {
      switch (firstId(bundle)) {
        case 'flaky':
          return flaky[attempt - 1] ?? succeed(bundle, attempt);
        case 'invalid':
          return {
            status: 400,
            body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'value', diagnostics: 'Invalid code', expression: ['Bundle.entry[0].resource.gender'] }] },
          };
        default:
          return { status: 500, body: 'it broke' };
      }
    });
    const summary = await ingest({ folder, stateFile, baseUrl: server.baseUrl, retry: fastRetry });

    const attempts = (id: string) => server.posted.filter((bundle) => firstId(bundle) === id).length;
    expect([attempts('flaky'), attempts('invalid'), attempts('down')]).toEqual([4, 1, 4]);
    expect(summary).toMatchObject({ format: 'bundles', units: { loaded: 1, failed: 2 }, resources: { loaded: 1, failed: 2 } });
    expect(summary.failures).toEqual([
      { unit: 'down.json', status: 500, message: '"it broke"' },
      { unit: 'invalid.json', status: 400, message: 'Bundle.entry[0].resource.gender: Invalid code' },
    ]);
    // Failed units are not recorded: the next run tries them again, and only them.
    expect(await ingest({ folder, stateFile, baseUrl: server.baseUrl, retry: { attempts: 1, baseDelayMs: 1 } })).toMatchObject({
      units: { loaded: 0, failed: 2, skipped: 1 },
    });
  });

  it('fails a chunk with a malformed line without sending it, and loads the other chunks', async () => {
    const lines = [JSON.stringify(patient('p1')), '{"resourceType":"Patient",', JSON.stringify(patient('p3')), JSON.stringify({ resourceType: 'Encounter', id: 'e1' })];
    const { folder, stateFile } = await folderOf({
      'Patient.ndjson': `${lines.join('\n')}\n`,
      'Observation.ndjson': ndjson([{ resourceType: 'Observation', id: 'o1' }, { resourceType: 'Observation' }]),
    });
    const server = await fakeServer();
    const summary = await ingest({ folder, stateFile, baseUrl: server.baseUrl, chunkSize: 2 });

    expect(server.posted).toHaveLength(0);
    expect(summary.failures.map(({ unit, message }) => `${unit} ${message}`)).toEqual([
      'Observation.ndjson:1-2 line 2: not a resource with a resourceType and an id',
      expect.stringMatching(/^Patient\.ndjson:1-2 line 2: not JSON \(.+\)$/),
      'Patient.ndjson:3-4 line 4: a Encounter in a file of Patient (Bulk Data files hold one type each)',
    ]);
    await writeFile(join(folder, 'Patient.ndjson'), `${lines[0]}\n${lines[2]}\n`);
    await writeFile(join(folder, 'Observation.ndjson'), ndjson([{ resourceType: 'Observation', id: 'o1' }]));
    expect(await ingest({ folder, stateFile, baseUrl: server.baseUrl, chunkSize: 2 })).toMatchObject({ units: { loaded: 2, failed: 0 } });
  });

  it('fails a batch whose response has failed entries', async () => {
    const { folder, stateFile } = await folderOf({ 'batch.json': JSON.stringify({ ...transaction(patient('x'), patient('y')), type: 'batch' }) });
    const server = await fakeServer(() => ({
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [
          { response: { status: '201 Created' } },
          { response: { status: '400', outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'bad' }] } } },
        ],
      },
    }));
    expect((await ingest({ folder, stateFile, baseUrl: server.baseUrl })).failures).toEqual([{ unit: 'batch.json', message: 'entry[1] 400: bad' }]);
  });

  it('refuses to start when no server answers', async () => {
    const { folder, stateFile } = await folderOf({ 'a.json': JSON.stringify(transaction(patient('a'))) });
    const server = await fakeServer();
    servers.splice(0).forEach((running) => running.close());
    await expect(ingest({ folder, stateFile, baseUrl: server.baseUrl })).rejects.toThrow(/No server answers at .*ECONNREFUSED/);
  });

  it('draws one line redrawn with \\r on a terminal, plain lines in a log', async () => {
    const { folder, stateFile } = await folderOf({ 'Patient.ndjson': ndjson([patient('a'), patient('b'), patient('c')]) });
    const server = await fakeServer();
    const run = async (isTTY: boolean) => {
      let text = '';
      await ingest({ folder, stateFile, baseUrl: server.baseUrl, restart: true, progress: { isTTY, write: (chunk) => (text += chunk) } });
      return text;
    };
    const tty = await run(true);
    expect(tty).toMatch(/^.*1 NDJSON files in 1 transaction Bundles, 3 resources; already loaded: 0 Bundles, 0 resources\n\r\[\.+\] 0\/3 resources 0% /);
    expect(tty).toMatch(/\r\[#{30}\] 3\/3 resources 100% .* ETA 0 s\x1b\[K\n$/);
    const log = (await run(false)).split('\n');
    expect(log.slice(1)).toEqual([expect.stringMatching(/^3\/3 resources 100% .* ETA 0 s$/), '']);
  });

  it('runs as npm run ingest: a summary with the failures on stdout, exit status 1', async () => {
    const { folder, stateFile } = await folderOf({
      'good.json': JSON.stringify(transaction(patient('good'))),
      'bad.json': JSON.stringify(transaction(patient('bad'))),
    });
    const server = await fakeServer((bundle, attempt) =>
      firstId(bundle) === 'bad' ? { status: 422, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'no' }] } } : succeed(bundle, attempt),
    );
    const cli = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../scripts/ingest.ts', import.meta.url)), folder, '--url', server.baseUrl, '--state', stateFile]);
    let stdout = '';
    cli.stdout.on('data', (chunk) => (stdout += chunk));
    const [code] = await once(cli, 'exit');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^Files {6}1 loaded, 1 failed, 0 already loaded\nResources {2}1 loaded, 1 failed, 0 already loaded\nElapsed .*\nFailed:\n {2}bad\.json: 422 no\n$/);
  });
});

// ---- the real server -----------------------------------------------------------------------------

describe('ingest into the local API', () => {
  const api = useLocalApi();
  const tenant = `ingest-${randomUUID().slice(0, 8)}`;
  const identifier = (value: string) => [{ system: 'urn:test:ingest', value }];
  // Anna's Observation names her by her entry's urn:uuid, which the transaction rewrites.
  const annaUrl = `urn:uuid:${randomUUID()}`;
  const anna: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: annaUrl, resource: { resourceType: 'Patient', identifier: identifier('anna') }, request: { method: 'POST', url: 'Patient' } },
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'weight' }, subject: { reference: annaUrl } },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  };
  const twoPatients = {
    'anna.json': JSON.stringify(anna),
    'ben.json': JSON.stringify(transaction({ resourceType: 'Patient', identifier: identifier('ben') })),
  };

  const search = async (path: string) => {
    const response = await api.request('GET', path, { tenant });
    expect(response.status, response.text).toBe(200);
    return (response.json as Bundle).entry?.map((entry) => entry.resource!) ?? [];
  };

  let loaded: { folder: string; stateFile: string };

  it('loads each transaction Bundle file, its resources readable with references rewritten', async () => {
    loaded = await folderOf(twoPatients);
    const summary = await ingest({ ...loaded, baseUrl: api.baseUrl, tenant });
    expect(summary).toMatchObject({ units: { loaded: 2, failed: 0 }, resources: { loaded: 3, failed: 0 }, failures: [] });
    const [annaRead] = await search('/Patient?identifier=urn:test:ingest|anna');
    expect(await search(`/Observation?subject=Patient/${annaRead!.id}`)).toHaveLength(1);
    expect(await search('/Patient?identifier=urn:test:ingest|ben')).toHaveLength(1);
  });

  it('skips what is already in on a second run', async () => {
    const summary = await ingest({ ...loaded, baseUrl: api.baseUrl, tenant });
    expect(summary).toMatchObject({ units: { loaded: 0, failed: 0, skipped: 2 }, resources: { loaded: 0, skipped: 3 } });
    expect(await search('/Patient?identifier=urn:test:ingest|anna')).toHaveLength(1);
  });

  it('reports a Bundle with an invalid resource, writes none of it, and loads the others', async () => {
    const files = await folderOf({
      'carla.json': JSON.stringify(transaction({ resourceType: 'Patient', identifier: identifier('carla') })),
      'invalid.json': JSON.stringify(
        transaction({ resourceType: 'Patient', identifier: identifier('dora') }, { resourceType: 'Patient', identifier: identifier('eve'), gender: 'robot' as Patient['gender'] }),
      ),
    });
    const summary = await ingest({ ...files, baseUrl: api.baseUrl, tenant });
    expect(summary).toMatchObject({ units: { loaded: 1, failed: 1 }, resources: { loaded: 1, failed: 2 } });
    expect(summary.failures).toEqual([{ unit: 'invalid.json', status: 400, message: expect.stringContaining('gender') }]);
    expect(await search('/Patient?identifier=urn:test:ingest|carla')).toHaveLength(1);
    expect(await search('/Patient?identifier=urn:test:ingest|dora')).toHaveLength(0);
  });

  it('loads NDJSON with a conditional reference, resolved to the Organization it names', async () => {
    const files = await folderOf({
      'Patient.000.ndjson': ndjson([patient('ingest-pat', { managingOrganization: { reference: 'Organization?identifier=urn:test:ingest|org' } })]),
      'Organization.000.ndjson': ndjson([{ resourceType: 'Organization', id: 'ingest-org', identifier: identifier('org'), name: 'Org' }]),
    });
    const summary = await ingest({ ...files, baseUrl: api.baseUrl, tenant });
    expect(summary).toMatchObject({ units: { loaded: 2, failed: 0 }, resources: { loaded: 2 } });
    const read = await api.request('GET', '/Patient/ingest-pat', { tenant });
    expect(read.status, read.text).toBe(200);
    expect(read.json.managingOrganization).toEqual({ reference: 'Organization/ingest-org' });
  });

  it('loads all 33 shared Synthea transaction Bundles, one transaction each, every resource readable with its references rewritten', { timeout: 600_000 }, async () => {
    const syntheaTenant = `${tenant}-synthea`;
    const { stateFile } = await folderOf({});
    const expected = await syntheaResources();
    const summary = await ingest({ folder: SYNTHEA_DIR, stateFile, baseUrl: api.baseUrl, tenant: syntheaTenant, concurrency: 2 });
    expect(summary).toMatchObject({ format: 'bundles', files: 33, units: { loaded: 33, failed: 0 }, failures: [] });

    // The data's own urn:uuid ids become server ids: find each resource by type and content.
    const loaded = await everyResource(api, syntheaTenant, new Set(expected.map((resource) => resource.resourceType)));
    // Organizations and Practitioners recur across Bundles: each Bundle POSTs its own copy.
    const perType = (resources: Iterable<Resource>) => {
      const counts: Record<string, number> = {};
      for (const resource of resources) {
        counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;
      }
      return counts;
    };
    expect(perType(loaded.values()).Observation).toBe(perType(expected).Observation);
    expect(perType(loaded.values()).Patient).toBe(33);
    expect(loaded.size).toBe(6679);
    const references = [...loaded.values()].flatMap((resource) => referencesIn(resource));
    expect(references.filter((reference) => reference.startsWith('urn:'))).toEqual([]);
    // `#id` points at a contained resource inside the same resource, not at the server.
    expect(references.filter((reference) => !reference.startsWith('#') && !loaded.has(reference))).toEqual([]);
  });

  it('loads the shared 10-patient bulk NDJSON with every reference resolved to a loaded resource', { timeout: 300_000 }, async () => {
    const bulkTenant = `${tenant}-bulk`;
    const { stateFile } = await folderOf({});
    const summary = await ingest({ folder: BULK_10_PATIENTS_DIR, stateFile, baseUrl: api.baseUrl, tenant: bulkTenant });
    expect(summary).toMatchObject({ units: { failed: 0 }, resources: { loaded: 7160, failed: 0 }, failures: [] });

    // One file per type, named after it (`Encounter.000.ndjson`).
    const loaded = await everyResource(api, bulkTenant, (await readdir(BULK_10_PATIENTS_DIR)).map((name) => name.split('.')[0]!));
    expect(loaded.size).toBe(7160);
    const references = [...loaded.values()].flatMap((resource) => referencesIn(resource));
    expect(references).toHaveLength(25_299); // as many as the files hold
    expect(references.filter((reference) => !loaded.has(reference))).toEqual([]);
  });
});

const BULK_10_PATIENTS_DIR = fileURLToPath(new URL('../../../shared/data/bulk-10-patients/', import.meta.url));

/** Every `reference` string anywhere in `value`. */
/** Every resource of these types the tenant has, by `Type/id`, read page by page through search. */
async function everyResource(api: LocalApiClient, tenantId: string, types: Iterable<string>): Promise<Map<string, Resource>> {
  const loaded = new Map<string, Resource>();
  for (const type of types) {
    for (let path: string | undefined = `/${type}?_count=1000`; path; ) {
      const page: ApiResponse = await api.request('GET', path, { tenant: tenantId });
      expect(page.status, page.text).toBe(200);
      for (const { resource } of (page.json as Bundle).entry ?? []) {
        loaded.set(`${resource!.resourceType}/${resource!.id}`, resource!);
      }
      path = (page.json as Bundle).link?.find((link) => link.relation === 'next')?.url?.slice(api.baseUrl.length);
    }
  }
  return loaded;
}

function referencesIn(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.flatMap(referencesIn);
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => (key === 'reference' && typeof item === 'string' ? [item] : referencesIn(item)));
  }
  return [];
}
