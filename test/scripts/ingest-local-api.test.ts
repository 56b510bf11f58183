/**
 * The ingest command loading into the real local API (DynamoDB Local behind it): transaction
 * Bundle files, NDJSON with conditional references, and the shared Synthea data. Against a fake
 * server: ingest.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../scripts/ingest/ingest.js';
import { SYNTHEA_DIR, syntheaResources } from '../../scripts/load/synthea.js';
import { type ApiResponse, type LocalApiClient, useLocalApi } from '../support/local-api.js';
import { ndjson, patient, transaction, useScratchFolders } from './ingest-input.js';

const folderOf = useScratchFolders();

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
