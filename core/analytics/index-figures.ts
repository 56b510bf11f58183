/**
 * The figures of the OpenSearch path: aggregations over the search index (document.ts: one
 * document per current resource with every parameter's values as nested entries), answered where
 * the data is; the tenant's documents live on one shard (routing), so terms counts are exact.
 * One request computes every figure; a nested value is counted once per resource
 * (`reverse_nested`), as table-figures.ts counts resources.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { Resource } from '@medplum/fhirtypes';
import { and, exists, nested, not, type Query, range, term, tenantScoped, VALUES } from '../search/opensearch/dsl.js';
import type { TenantId } from '../tenant.js';
import { displayOf, PARAMS, UNKNOWN } from './codes.js';
import { birthRanges, INSTANT_LIMIT_MS, monthOf, UNKNOWN_AGE, weekOf } from './periods.js';
import { canonicalFigures, type CodeCount, type TenantFigures, TOP_CODES } from './report.js';

/** Distinct codes fetched per list before the final order picks the top ones: ties at the cut stay exact. */
const CODES_FETCHED = TOP_CODES * 10;
const MANY = 1000;

type Param = (typeof PARAMS)[keyof typeof PARAMS];

const ofType = (resourceType: string): Query => term('resourceType', resourceType);
const valuesOf = (param: Param): Query => term(`${VALUES}param`, param.code);
const realStart: Query = and([range(`${VALUES}start`, 'gt', -INSTANT_LIMIT_MS), range(`${VALUES}start`, 'lt', INSTANT_LIMIT_MS)]);

/** `aggs` under a nested filter on one parameter's values, each bucket counted back in resources. */
function onValues(param: Param, condition: Query | undefined, aggs: Record<string, unknown>): Record<string, unknown> {
  return { nested: { path: 'values' }, aggs: { param: { filter: and([valuesOf(param), condition]), aggs } } };
}

const perResource = (aggs: Record<string, unknown> = {}) => ({ resources: { reverse_nested: {}, aggs } });

function ageBands(asOf: string): Record<string, unknown> {
  return onValues(PARAMS.patientBirthDate, realStart, {
    bands: { range: { field: `${VALUES}start`, keyed: true, ranges: birthRanges(asOf).map(({ label, from, to }) => ({ key: label, from, to })) }, aggs: perResource() },
  });
}

function topCodes(param: Param): Record<string, unknown> {
  return {
    filter: ofType(param.resourceType),
    aggs: {
      values: onValues(param, exists(`${VALUES}code`), {
        codes: {
          multi_terms: { terms: [{ field: `${VALUES}system`, missing: '' }, { field: `${VALUES}code` }], size: CODES_FETCHED, order: { resources: 'desc' } },
          aggs: perResource({ first: { top_hits: { size: 1, sort: [{ ref: 'asc' }], _source: ['resource'] } } }),
        },
      }),
    },
  };
}

interface Bucket {
  key: string | number | string[];
  key_as_string?: string;
  doc_count: number;
  [name: string]: unknown;
}
type Buckets = { buckets: Bucket[] };
type Single = { doc_count: number; [name: string]: unknown };

export async function indexFigures(client: Client, index: string, tenant: TenantId, asOf: string): Promise<TenantFigures> {
  const scoped = tenantScoped(tenant, { query: range('lastUpdated', 'lte', Date.parse(asOf)), size: 0 });
  const aggs = {
    types: {
      terms: { field: 'resourceType', size: MANY },
      aggs: {
        months: { date_histogram: { field: 'lastUpdated', calendar_interval: 'month', min_doc_count: 1 } },
        weeks: { date_histogram: { field: 'lastUpdated', calendar_interval: 'week', min_doc_count: 1 } },
      },
    },
    patients: {
      filter: ofType('Patient'),
      aggs: {
        genders: onValues(PARAMS.patientGender, exists(`${VALUES}code`), {
          codes: { terms: { field: `${VALUES}code`, size: MANY }, aggs: perResource({ birth: ageBands(asOf) }) },
        }),
        noGender: {
          filter: not(nested('values', and([valuesOf(PARAMS.patientGender), exists(`${VALUES}code`)]))),
          aggs: { birth: ageBands(asOf) },
        },
      },
    },
    encounters: {
      filter: ofType('Encounter'),
      aggs: {
        classes: onValues(PARAMS.encounterClass, exists(`${VALUES}code`), {
          codes: {
            terms: { field: `${VALUES}code`, size: MANY },
            aggs: perResource({
              dates: onValues(PARAMS.encounterDate, realStart, { months: { date_histogram: { field: `${VALUES}start`, calendar_interval: 'month', min_doc_count: 1 }, aggs: perResource() } }),
            }),
          },
        }),
      },
    },
    conditions: topCodes(PARAMS.conditionCode),
    observations: topCodes(PARAMS.observationCode),
  };
  const response = await client.search({ index, routing: scoped.routing, body: { ...scoped.body, aggs } as never });
  const result = (response.body as unknown as { aggregations: Record<string, Single & Buckets> }).aggregations;

  const types = result.types.buckets;
  const periods = (name: 'months' | 'weeks', label: (ms: number) => string) =>
    types.flatMap((type) => (type[name] as Buckets).buckets.map((bucket) => ({ resourceType: String(type.key), period: label(Number(bucket.key)), count: bucket.doc_count })));

  const bandCounts = (birth: Single, total: number, gender: string) => {
    const bands = ((birth.param as Single).bands as { buckets: Record<string, Single> }).buckets;
    const counted = Object.entries(bands).map(([ageBand, bucket]) => ({ ageBand, gender, count: (bucket.resources as Single).doc_count }));
    const known = counted.reduce((sum, band) => sum + band.count, 0);
    return [...counted, { ageBand: UNKNOWN_AGE, gender, count: total - known }].filter((band) => band.count > 0);
  };
  const genders = ((result.patients.genders as Single).param as Single).codes as Buckets;
  const noGender = result.patients.noGender as Single;

  const classes = ((result.encounters.classes as Single).param as Single).codes as Buckets;

  const codes = (list: Single): CodeCount[] =>
    (((list.values as Single).param as Single).codes as Buckets).buckets.map((bucket) => {
      const [system, code] = bucket.key as string[];
      const resources = bucket.resources as Single;
      const first = (resources.first as { hits: { hits: { _source: { resource: Resource } }[] } }).hits.hits[0]?._source.resource;
      const display = first && displayOf(first, system || undefined, code);
      return { ...(system ? { system } : {}), code, ...(display ? { display } : {}), count: resources.doc_count };
    });

  return canonicalFigures({
    resourcesByType: types.map((type) => ({ resourceType: String(type.key), count: type.doc_count })),
    updatedPerMonth: periods('months', monthOf),
    updatedPerWeek: periods('weeks', weekOf),
    patientsByAgeGender: [
      ...genders.buckets.flatMap((bucket) => {
        const resources = bucket.resources as Single;
        return bandCounts(resources.birth as Single, resources.doc_count, String(bucket.key));
      }),
      ...(noGender.doc_count > 0 ? bandCounts(noGender.birth as Single, noGender.doc_count, UNKNOWN) : []),
    ],
    encountersByMonth: classes.buckets.flatMap((bucket) =>
      (((((bucket.resources as Single).dates as Single).param as Single).months as Buckets).buckets).map((month) => ({
        month: monthOf(Number(month.key)),
        class: String(bucket.key),
        count: (month.resources as Single).doc_count,
      })),
    ),
    topConditions: codes(result.conditions),
    topObservationCodes: codes(result.observations),
  });
}
