/**
 * The OpenSearch engine's paging, tenant isolation and failures, on documents in the run's node:
 * pages, both ways, equal what `pageOf` (the DynamoDB engine's paging) cuts from the same
 * matches, with ties, missing values and open-ended periods; a tenant never sees another's
 * resources, through chains, `_has` and includes neither; failures are FHIR errors.
 */
import type { Encounter, Resource } from '@medplum/fhirtypes';
import { Client } from '@opensearch-project/opensearch';
import { beforeAll, describe, expect, it } from 'vitest';
import { FhirError } from '../../../../core/errors.js';
import { parseSearchRequest } from '../../../../core/fhir/interactions.js';
import type { SearchEngine, SearchResult } from '../../../../core/search/engine.js';
import { encodePageCursor } from '../../../../core/search/page-cursor.js';
import { pageOf } from '../../../../core/search/pager.js';
import { OpenSearchEngine } from '../../../../core/search/opensearch/engine.js';
import type { SearchQuery } from '../../../../core/search/types.js';
import { parseTenantId } from '../../../../core/tenant.js';
import { indexResources, useOpenSearchIndex } from '../../../support/opensearch.js';

const index = useOpenSearchIndex();

function parse(resourceType: string | undefined, parameters: Record<string, string>): SearchQuery {
  return parseSearchRequest({
    resourceType,
    parameters: Object.fromEntries(Object.entries(parameters).map(([name, value]) => [name, [value]])),
    strict: true,
    defaultCount: 20,
    maxCount: 1000,
  });
}

const keys = (resources: readonly Resource[]) => resources.map((resource) => `${resource.resourceType}/${resource.id}`);

describe('paging, as pageOf cuts it', () => {
  const tenant = parseTenantId('paging');
  const engine = new OpenSearchEngine(index.client, index.index);
  const encounter = (id: string, period: Encounter['period'], type: string | undefined, lastUpdated: string): Encounter => ({
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    ...(period ? { period } : {}),
    ...(type ? { type: [{ coding: [{ system: 'http://snomed.info/sct', code: type }] }] } : {}),
    meta: { lastUpdated },
  });
  // Open starts and ends, no period at all, equal starts, equal lastUpdated, types missing or repeated.
  const ENCOUNTERS = [
    encounter('e01', { start: '2020-01-01', end: '2020-01-02' }, 'b', '2024-01-01T00:00:00.000Z'),
    encounter('e02', { start: '2020-01-01' }, 'a', '2024-01-01T00:00:00.000Z'),
    encounter('e03', { end: '2019-05-05' }, undefined, '2024-01-01T00:00:00.000Z'),
    encounter('e04', undefined, 'c', '2024-01-02T00:00:00.000Z'),
    encounter('e05', { start: '2018-03-03T10:00:00Z', end: '2018-03-03T11:00:00Z' }, 'a', '2024-01-02T00:00:00.000Z'),
    encounter('e06', undefined, undefined, '2024-01-03T00:00:00.000Z'),
    encounter('e07', { start: '2020-01-01', end: '2020-01-02' }, 'b', '2024-01-03T00:00:00.000Z'),
    encounter('e08', { end: '2021-01-01' }, 'a', '2024-01-03T00:00:00.000Z'),
    encounter('e09', { start: '2017-01-01' }, 'c', '2024-01-04T00:00:00.000Z'),
    encounter('e10', { start: '2022-02-02', end: '2022-02-03' }, undefined, '2024-01-04T00:00:00.000Z'),
  ];

  beforeAll(async () => {
    await indexResources(index, tenant, ENCOUNTERS);
  });

  /** Every page from the first through `next` links, then back through `previous` links from the last; a runaway chain fails. */
  async function walk(search: (cursor?: string) => Promise<Omit<SearchResult, 'included'>>) {
    const forward = [await search()];
    while (forward.at(-1)!.next) {
      expect(forward.length, 'pages').toBeLessThan(ENCOUNTERS.length + 1);
      forward.push(await search(forward.at(-1)!.next));
    }
    const backward = [];
    for (let cursor = forward.at(-1)!.previous; cursor !== undefined; cursor = backward.at(-1)!.previous) {
      expect(backward.length, 'pages back').toBeLessThan(ENCOUNTERS.length + 1);
      backward.push(await search(cursor));
    }
    const shape = (pages: readonly Omit<SearchResult, 'included'>[]) => pages.map((page) => ({ ids: keys(page.matches), total: page.total, previous: page.previous !== undefined }));
    return { forward: shape(forward), backward: shape(backward) };
  }

  const SORTS = ['date', '-date', 'date,-_id', '-date,_lastUpdated', 'type', '-type,date', '_lastUpdated', '-_lastUpdated,-_id', undefined];
  const CASES = SORTS.flatMap((sort) => [1, 2, 3, 20].map((count) => ({ sort, count })));

  it.each(CASES)('_sort=$sort&_count=$count', async ({ sort, count }) => {
    const query = parse('Encounter', { _count: String(count), ...(sort ? { _sort: sort } : {}) });
    const expected = await walk(async (cursor) => pageOf(ENCOUNTERS, { ...query, cursor }));
    const found = await walk((cursor) => engine.search(tenant, { ...query, cursor }));
    expect(found).toEqual(expected);
  });

  it('refuses a cursor whose key does not fit the sort', async () => {
    const cursor = encodePageCursor({ key: ['not a number'], ref: 'Encounter/e01' }, false);
    const search = engine.search(tenant, { ...parse('Encounter', { _sort: '_lastUpdated' }), cursor });
    await expect(search).rejects.toMatchObject({ status: 400, message: 'Invalid paging cursor' });
  });
});

describe('tenant isolation', () => {
  const [mine, theirs] = [parseTenantId('tenant-a'), parseTenantId('tenant-b')];
  const engine = new OpenSearchEngine(index.client, index.index);
  const patient = (id: string, family: string): Resource => ({ resourceType: 'Patient', id, gender: 'female', name: [{ family }], meta: { lastUpdated: '2024-01-01T00:00:00.000Z' } });
  const observation = (id: string, subject: string, note: string): Resource => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '1234-5' }] },
    subject: { reference: subject },
    valueString: note,
    meta: { lastUpdated: '2024-01-01T00:00:00.000Z' },
  });

  beforeAll(async () => {
    await indexResources(index, mine, [patient('p1', 'Alpha'), observation('o1', 'Patient/p1', 'mine')]);
    // The same ids and more in the other tenant.
    await indexResources(index, theirs, [patient('p1', 'Beta'), patient('p2', 'Gamma'), observation('o1', 'Patient/p1', 'theirs'), observation('o2', 'Patient/p2', 'theirs')]);
  });

  const search = (resourceType: string | undefined, parameters: Record<string, string>) => engine.search(mine, parse(resourceType, parameters));

  it('finds only its own resources by a value, an id and in a system search', async () => {
    expect(keys((await search('Patient', { name: 'beta' })).matches)).toEqual([]);
    expect((await search('Patient', { _id: 'p1' })).matches).toMatchObject([{ name: [{ family: 'Alpha' }] }]);
    expect(keys((await search(undefined, { _id: 'p1,p2,o2' })).matches)).toEqual(['Patient/p1']);
    expect((await search('Observation', { _count: '1' })).total).toBe(1);
  });

  it('follows chains and _has within the tenant only', async () => {
    expect(keys((await search('Observation', { 'subject:Patient.name': 'gamma' })).matches)).toEqual([]);
    expect((await search('Observation', { 'subject:Patient.name': 'alpha' })).matches).toMatchObject([{ id: 'o1', valueString: 'mine' }]);
    expect((await search('Patient', { '_has:Observation:subject:code': '1234-5' })).matches).toMatchObject([{ id: 'p1', name: [{ family: 'Alpha' }] }]);
  });

  it('includes its own resources only', async () => {
    expect((await search('Observation', { _include: 'Observation:subject' })).included).toMatchObject([{ id: 'p1', name: [{ family: 'Alpha' }] }]);
    expect((await search('Patient', { _revinclude: 'Observation:subject' })).included).toMatchObject([{ id: 'o1', valueString: 'mine' }]);
  });

  it('refuses an inner search above its limit as too costly', async () => {
    const limited = new OpenSearchEngine(index.client, index.index, { maxInnerMatches: 1 });
    const refused = limited.search(theirs, parse('Observation', { 'subject:Patient.gender': 'female' }));
    await expect(refused).rejects.toMatchObject({ status: 400, issues: [{ code: 'too-costly' }] });
    expect(keys((await limited.search(mine, parse('Observation', { 'subject:Patient.gender': 'female' }))).matches)).toEqual(['Observation/o1']);
  });
});

describe('failures', () => {
  // Refusals (4xx from OpenSearch) are the caller's 400; only an index that cannot answer is a 503.
  const query = parse('Patient', { name: 'x' });

  async function failure(engine: SearchEngine, search = query): Promise<FhirError> {
    const error = await engine.search(parseTenantId('t1'), search).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(FhirError);
    return error as FhirError;
  }

  it('answers 503 when OpenSearch cannot be reached, naming no internals', async () => {
    const unreachable = new Client({ node: 'http://127.0.0.1:9', maxRetries: 0, requestTimeout: 2_000 });
    const error = await failure(new OpenSearchEngine(unreachable, 'fhir'));
    expect(error).toMatchObject({ status: 503, issues: [{ code: 'transient', diagnostics: 'The search index is unavailable; retry later' }] });
  });

  it('answers 400 with advice when a search has more OR values than the index takes clauses', async () => {
    const values = Array.from({ length: 2_000 }, (_, n) => `urn:mrn|${n}`).join(',');
    const error = await failure(new OpenSearchEngine(index.client, index.index), parse('Patient', { identifier: values }));
    expect(error).toMatchObject({ status: 400, issues: [{ code: 'too-costly', diagnostics: expect.stringContaining('fewer comma-separated (OR) values') }] });
  });

  it('answers 400 with advice when a text is too long for the index to match', async () => {
    const error = await failure(new OpenSearchEngine(index.client, index.index), parse('Patient', { name: 'a'.repeat(2_000) }));
    expect(error).toMatchObject({ status: 400, issues: [{ code: 'too-costly', diagnostics: expect.stringContaining('shorter text values') }] });
  });

  it('answers 503 when OpenSearch does not answer in time', async () => {
    const impatient = new Client({ node: index.url, maxRetries: 0, requestTimeout: 1 });
    const error = await failure(new OpenSearchEngine(impatient, index.index));
    expect(error).toMatchObject({ status: 503, issues: [{ code: 'transient' }] });
  });

  it('answers 503 when the index does not exist', async () => {
    const error = await failure(new OpenSearchEngine(index.client, `${index.index}-missing`));
    expect(error).toMatchObject({ status: 503, issues: [{ code: 'transient' }] });
  });
});
