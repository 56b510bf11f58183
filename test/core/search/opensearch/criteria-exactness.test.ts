/**
 * The DSL translation of search criteria (core/search/opensearch/criteria.ts) where exactness is
 * easy to get wrong, checked against `match.ts` (the meaning both engines share) on documents in
 * the run's OpenSearch node: every prefix on numbers, quantities and dates, `ap` at its
 * floating-point edge, `ne` over several values, open periods.
 */
import type { Observation, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSearchRequest } from '../../../../core/fhir/interactions.js';
import { matchesCriterion } from '../../../../core/search/match.js';
import { OpenSearchEngine } from '../../../../core/search/opensearch/engine.js';
import type { Criterion } from '../../../../core/search/types.js';
import { parseTenantId } from '../../../../core/tenant.js';
import { indexResources, useOpenSearchIndex } from '../../../support/opensearch.js';

const LAST_UPDATED = '2024-01-01T00:00:00.000Z';
const UCUM = 'http://unitsofmeasure.org';

function observation(id: string, fields: Partial<Observation>): Observation {
  return { resourceType: 'Observation', id, status: 'final', code: { text: 'test' }, meta: { lastUpdated: LAST_UPDATED }, ...fields };
}

const quantity = (value: number, code?: string, unit?: string) => ({ value, ...(code ? { system: UCUM, code } : {}), ...(unit ? { unit } : {}) });

/** Values at the edges of `eq` ranges and of `ap`'s 10% (1.1 against ap1 is just outside in floating point). */
const OBSERVATIONS: Observation[] = [
  observation('q-1', { valueQuantity: quantity(1, 'kg', 'kilogram'), effectiveDateTime: '2020-06-15' }),
  observation('q-1-1', { valueQuantity: quantity(1.1, 'kg'), effectiveDateTime: '2020-06-15T10:00:00Z' }),
  observation('q-0-9', { valueQuantity: quantity(0.9, 'g', 'gram'), effectiveDateTime: '2020-06' }),
  observation('q-0-95', { valueQuantity: quantity(0.95), effectiveDateTime: '2020' }),
  observation('q-1-05', { valueQuantity: quantity(1.05, 'kg'), effectivePeriod: { start: '2020-06-15T00:00:00Z' } }),
  observation('q-100', { valueQuantity: quantity(100, 'mg', 'mg'), effectivePeriod: { end: '2020-06-15T12:00:00Z' } }),
  observation('q-110', { valueQuantity: quantity(110, 'mg'), effectivePeriod: { start: '2019-01-01', end: '2021-12-31' } }),
  observation('q-neg', { valueQuantity: quantity(-5), effectiveInstant: '2020-06-15T23:59:59.999Z' }),
  observation('q-zero', { valueQuantity: quantity(0, 'kg') }),
  observation('bp-120-80', {
    component: [
      { code: { text: 'systolic' }, valueQuantity: quantity(120, 'mm[Hg]') },
      { code: { text: 'diastolic' }, valueQuantity: quantity(80, 'mm[Hg]') },
    ],
  }),
  observation('bp-130-80', {
    component: [
      { code: { text: 'systolic' }, valueQuantity: quantity(130, 'mm[Hg]') },
      { code: { text: 'diastolic' }, valueQuantity: quantity(80, 'mm[Hg]') },
    ],
  }),
  observation('none', {}),
];

const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];
const QUANTITY_QUERIES = ['1', '1.0', '0.9', '100', '1e2', '-5', '0', '1||kg', '1||kilogram', `1|${UCUM}|kg`, '100||mg', '1||g'].flatMap((value) =>
  PREFIXES.map((prefix) => `value-quantity=${prefix}${value}`),
);
const COMPONENT_QUERIES = ['120', '80', '130', '125'].flatMap((value) => PREFIXES.map((prefix) => `component-value-quantity=${prefix}${value}`));
const DATE_QUERIES = ['2020', '2020-06', '2020-06-15', '2020-06-15T10:00:00Z', '2019-06-01', '2022'].flatMap((value) => PREFIXES.map((prefix) => `date=${prefix}${value}`));
const MISSING_QUERIES = ['value-quantity:missing=true', 'value-quantity:missing=false', 'date:missing=true', 'component-value-quantity:missing=true'];

describe('criteria as DSL, compared with match.ts', () => {
  const index = useOpenSearchIndex();
  const tenant = parseTenantId('dsl');
  const engine = new OpenSearchEngine(index.client, index.index);

  beforeAll(async () => {
    await indexResources(index, tenant, OBSERVATIONS);
  });

  it.each([...QUANTITY_QUERIES, ...COMPONENT_QUERIES, ...DATE_QUERIES, ...MISSING_QUERIES])('Observation?%s', async (text) => {
    const [name, value] = text.split('=') as [string, string];
    const query = parseSearchRequest({ resourceType: 'Observation', parameters: { [name]: [value], _count: ['100'] }, strict: true, defaultCount: 20, maxCount: 1000 });
    const criterion = query.criteria[0] as Criterion;
    const expected = OBSERVATIONS.filter((resource) => matchesCriterion(resource, criterion)).map((resource) => resource.id);
    const found = await engine.search(tenant, query);
    expect(found.matches.map((resource: Resource) => resource.id).sort()).toEqual(expected.sort());
  });

  it('has a case that tells a range on value ± 10% from the ap of match.ts', () => {
    const ap1 = parseSearchRequest({ resourceType: 'Observation', parameters: { 'value-quantity': ['ap1'] }, strict: true, defaultCount: 20, maxCount: 1000 }).criteria[0] as Criterion;
    const valueOf = (id: string) => OBSERVATIONS.find((resource) => resource.id === id)!.valueQuantity!.value!;
    expect(valueOf('q-1-1') <= 1 + 0.1 && !matchesCriterion(OBSERVATIONS.find((resource) => resource.id === 'q-1-1')!, ap1)).toBe(true);
  });
});
