/**
 * The indexer on resources beyond what OpenSearch takes in one document, on the run's node: each
 * is indexed in the same bulk as ordinary ones, none fails, it stays findable by `_id` and by
 * what was kept, and it is reported and listed with what its searches may miss.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSearchRequest } from '../../../../core/fhir/interactions.js';
import { OpenSearchEngine } from '../../../../core/search/opensearch/engine.js';
import { incompletelyIndexed } from '../../../../core/search/opensearch/index-issues.js';
import { type IncompleteIndexing, ResourceIndexer } from '../../../../core/search/opensearch/indexer.js';
import { parseTenantId } from '../../../../core/tenant.js';
import { type TestIndex, useOpenSearchIndex } from '../../../support/opensearch.js';

const tenant = parseTenantId('limits');

function patient(id: string, fields: Partial<Patient>): Patient {
  return { resourceType: 'Patient', id, meta: { lastUpdated: '2024-01-01T00:00:00.000Z', versionId: '1' }, ...fields };
}

/** Indexes `resources` as version 1 in one bulk; returns the failures and what was reported incomplete. */
async function indexBatch(index: TestIndex, resources: readonly Resource[]) {
  const reported: IncompleteIndexing[] = [];
  const indexer = new ResourceIndexer(index.client, index.index, { onIncomplete: (report) => reported.push(report) });
  const failures = await indexer.apply(
    resources.map((resource) => ({ tenant, resourceType: resource.resourceType, id: resource.id!, version: 1, resource })),
    { refresh: true },
  );
  return { failures, reported };
}

function searcher(index: TestIndex) {
  const engine = new OpenSearchEngine(index.client, index.index);
  return async (parameters: Record<string, string>) => {
    const query = parseSearchRequest({ resourceType: 'Patient', parameters: Object.fromEntries(Object.entries(parameters).map(([name, value]) => [name, [value]])), strict: true, defaultCount: 20, maxCount: 1000 });
    return (await engine.search(tenant, query)).matches.map((resource) => resource.id);
  };
}

async function listed(index: TestIndex) {
  const found = [];
  for await (const resource of incompletelyIndexed(index.client, index.index, { tenant })) {
    found.push(resource);
  }
  return found;
}

describe('resources beyond what a document may hold', () => {
  const index = useOpenSearchIndex();
  const search = searcher(index);
  const identifiers = Array.from({ length: 11_000 }, (_, n) => ({ system: 'urn:mrn', value: `mrn-${n}` }));
  const longFamily = 'Wolfeschlegelsteinhausenbergerdorff'.repeat(286).slice(0, 10_000);
  let batch: Awaited<ReturnType<typeof indexBatch>>;

  beforeAll(async () => {
    batch = await indexBatch(index, [
      patient('before', { name: [{ family: 'Ordinary' }] }),
      patient('many-ids', { identifier: identifiers, name: [{ family: 'Manyids' }] }),
      patient('long-name', { name: [{ family: longFamily }] }),
      patient('after', { name: [{ family: 'Ordinary' }] }),
    ]);
  });

  it('indexes them in the same bulk as ordinary resources, none failing', async () => {
    expect(batch.failures).toEqual([undefined, undefined, undefined, undefined]);
    expect((await search({ family: 'ordinary' })).sort()).toEqual(['after', 'before']);
  });

  it('finds an 11,000-identifier patient by _id, by its other values and by the identifiers kept', async () => {
    expect(await search({ _id: 'many-ids' })).toEqual(['many-ids']);
    expect(await search({ family: 'manyids' })).toEqual(['many-ids']);
    expect(await search({ identifier: 'urn:mrn|mrn-0' })).toEqual(['many-ids']);
    expect(await search({ identifier: 'urn:mrn|mrn-9000' })).toEqual(['many-ids']);
  });

  it('finds a 10,000-character name by a prefix of it, and by the whole name exactly', async () => {
    expect(await search({ family: 'wolfeschlegelstein' })).toEqual(['long-name']);
    expect(await search({ family: longFamily.slice(0, 900) })).toEqual(['long-name']);
    expect(await search({ 'family:exact': longFamily })).toEqual(['long-name']);
  });

  it('reports and lists each of them with the parameters that lost values, and nothing else', async () => {
    const byRef = Object.fromEntries((await listed(index)).map(({ ref, versionId, issues }) => [ref, { versionId, issues: issues.map(({ kind, param }) => `${kind} ${param}`).sort() }]));
    expect(byRef).toEqual({
      'Patient/many-ids': { versionId: '1', issues: ['values-capped identifier'] },
      'Patient/long-name': { versionId: '1', issues: ['value-shortened family', 'value-shortened name', 'value-shortened phonetic'] },
    });
    const listedDetail = (await listed(index)).find(({ ref }) => ref === 'Patient/many-ids')!.issues[0].detail;
    expect(listedDetail).toMatch(/^9\d{3} of 11000 values indexed/);
    expect(batch.reported.map(({ id, version, issues }) => ({ id, version, kinds: issues.map(({ kind }) => kind) })).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'long-name', version: 1, kinds: ['value-shortened', 'value-shortened', 'value-shortened'] },
      { id: 'many-ids', version: 1, kinds: ['values-capped'] },
    ]);
  });
});

describe('a document the index refuses all the same', () => {
  // An operator set a tighter limit than the one document-limits.ts assumes.
  const index = useOpenSearchIndex();
  const search = searcher(index);

  beforeAll(async () => {
    await index.client.indices.putSettings({ index: index.index, body: { 'index.mapping.nested_objects.limit': 20 } });
  });

  it('is indexed at once as its identity, findable by _id, and listed with OpenSearch\'s reason', async () => {
    const many = patient('refused', { identifier: Array.from({ length: 30 }, (_, n) => ({ system: 'urn:mrn', value: `r-${n}` })) });
    const { failures, reported } = await indexBatch(index, [many, patient('fits', { name: [{ family: 'Fits' }] })]);
    expect(failures).toEqual([undefined, undefined]);
    expect(await search({ _id: 'refused' })).toEqual(['refused']);
    expect(await search({ identifier: 'urn:mrn|r-0' })).toEqual([]);
    expect(await search({ family: 'fits' })).toEqual(['fits']);
    expect(reported.map(({ id, issues }) => [id, issues.map(({ kind }) => kind)])).toEqual([['refused', ['refused']]]);
    expect(await listed(index)).toMatchObject([{ ref: 'Patient/refused', issues: [{ kind: 'refused', detail: expect.stringContaining('nested_objects.limit') }] }]);
  });
});
