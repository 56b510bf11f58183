/**
 * Differential test of the two search engines on the Synthea sample (33 patients, about 6,700
 * resources): a few hundred queries generated from the data itself with a fixed seed, each run on
 * the DynamoDB engine (over the table) and on the OpenSearch engine (over an index of the same
 * tenant), following every `next` link and then every `previous` link back. Both must give the
 * same matches in the same order on the same pages, the same totals and the same includes.
 *
 * Generic queries take a random search parameter of a type, a resource that has values for it,
 * and one of those values (`extractValues`), and write a search value for it with a random
 * modifier or prefix; curated ones cover chains, `_has`, includes, composites, compartments,
 * system search and plain listings. Page sizes are small enough that most answers span pages.
 *
 * A query the DynamoDB engine refuses as too costly (400) is not compared: the OpenSearch engine
 * exists to answer those. Such queries are listed in the summary the last test prints.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../core/config.js';
import { FhirError } from '../../core/errors.js';
import { parseSearchRequest } from '../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../core/search/dynamodb/engine.js';
import type { SearchEngine, SearchResult } from '../../core/search/engine.js';
import { extractValues } from '../../core/r4/extract.js';
import { OpenSearchEngine } from '../../core/search/opensearch/engine.js';
import { searchParameters } from '../../core/r4/search-parameters.js';
import type { SearchQuery } from '../../core/search/types.js';
import type { IndexValue, SearchParameterDefinition } from '../../core/r4/search-types.js';
import { createDocumentClient } from '../../core/storage/dynamo-client.js';
import { ResourceRepository } from '../../core/storage/repository.js';
import { parseTenantId } from '../../core/tenant.js';
import { syntheaResources } from '../../scripts/load/synthea.js';
import { useLocalApi } from '../support/local-api.js';
import { indexTenant, useOpenSearchIndex } from '../support/opensearch.js';
import { loadSynthea, putVia } from './synthea.js';

const SEED = 0x5eed_f41;
/** Queries per generic resource type and per curated family. */
const GENERIC_QUERIES = 12;
const CURATED_QUERIES = 4;
/** Page sizes grow so that no answer needs more pages than this. */
const MAX_PAGES = 4;
/** Every this many queries, the pages are also walked back through `previous` links (each page costs the DynamoDB engine a full evaluation). */
const WALK_BACK_EVERY = 3;
const PAGE_SIZES = [1, 2, 3, 5, 8, 20];

const GENERIC_TYPES = [
  'Patient',
  'Observation',
  'Encounter',
  'Condition',
  'Procedure',
  'Immunization',
  'MedicationRequest',
  'DiagnosticReport',
  'CarePlan',
  'Claim',
  'ExplanationOfBenefit',
  'AllergyIntolerance',
  'Goal',
  'ImagingStudy',
  'Organization',
  'Practitioner',
];
const SORTABLE = new Set(['string', 'token', 'reference', 'date', 'number', 'quantity', 'uri']);
const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;

const api = useLocalApi();
const openSearchIndex = useOpenSearchIndex();
const tenant = parseTenantId(`diff-${randomUUID().slice(0, 8)}`);
const resources = await syntheaResources();
const queries = generateQueries(resources, mulberry32(SEED));

let engines: { readonly dynamo: SearchEngine; readonly openSearch: SearchEngine };
const summary = { compared: 0, pages: 0, refused: [] as string[], dynamoMs: 0, openSearchMs: 0 };

beforeAll(async () => {
  await loadSynthea(resources, putVia(api, tenant), 8);
  await indexTenant(openSearchIndex, tenant);
  const repository = new ResourceRepository(createDocumentClient(config()), config().tableName);
  engines = {
    dynamo: new DynamoSearchEngine(repository, config().maxSearchScan),
    openSearch: new OpenSearchEngine(openSearchIndex.client, openSearchIndex.index),
  };
}, 600_000);

afterAll(() => {
  console.info(
    `differential: ${summary.compared} queries compared over ${summary.pages} pages (DynamoDB engine ${Math.round(summary.dynamoMs / 1000)} s, OpenSearch engine ${Math.round(summary.openSearchMs / 1000)} s); ${summary.refused.length} refused as too costly by the DynamoDB engine${summary.refused.length ? `: ${summary.refused.join('; ')}` : ''}`,
  );
});

describe('DynamoDB and OpenSearch engines give the same answers', () => {
  it('generated enough queries', () => {
    expect(queries.length).toBeGreaterThan(250);
  });

  it.each(queries.map((query, index) => ({ ...query, walkBack: index % WALK_BACK_EVERY === 0, text: describeQuery(query) })))('$text', async (query) => {
    const base = parse(query, PAGE_SIZES[0]);
    const counted = await engines.openSearch.search(tenant, { ...base, summary: 'count' });
    const count = Math.max(query.count, Math.ceil((counted.total ?? 0) / MAX_PAGES));
    const parsed = parse(query, count);
    const started = performance.now();
    const dynamo = await answer(engines.dynamo, parsed, query.walkBack);
    const between = performance.now();
    const openSearch = await answer(engines.openSearch, parsed, query.walkBack);
    summary.dynamoMs += between - started;
    summary.openSearchMs += performance.now() - between;
    if (dynamo === 'too-costly') {
      summary.refused.push(describeQuery(query));
      return;
    }
    expect(openSearch, 'the OpenSearch engine refused what the DynamoDB engine answered').not.toBe('too-costly');
    if (openSearch === 'too-costly') {
      return;
    }
    const label = `${describeQuery(query)} with _count=${count}`;
    const plainListing = dynamo.forward[0]!.total === undefined && query.total !== 'none';
    if (plainListing && dynamo.forward.length > 1 && dynamo.forward.at(-1)!.ids.length === 0) {
      // The table's plain listing (one GSI3 query page per search page) cannot tell that a full
      // page was the last: its `next` leads to an empty page. Not a difference in the answer.
      dynamo.forward.pop();
    }
    if (plainListing) {
      // The table's plain listing orders resources updated in the same millisecond by id
      // descending (its GSI3 sort key), where every other search, on either engine, breaks such
      // ties by Type/id ascending (sort.ts): compared up to the order inside such ties.
      expect(openSearch.forward.map((page) => page.ids.length), `${label}: page sizes`).toEqual(dynamo.forward.map((page) => page.ids.length));
      expect(withTiesOrdered(openSearch.forward), `${label}: matches, ties in lastUpdated aside`).toEqual(withTiesOrdered(dynamo.forward));
    } else {
      expect(pageIds(openSearch.forward), `${label}: matches page by page`).toEqual(pageIds(dynamo.forward));
    }
    expect(openSearch.forward.map((page) => page.included), `${label}: includes page by page`).toEqual(dynamo.forward.map((page) => page.included));
    const all = dynamo.forward.flatMap((page) => page.ids);
    expect(new Set(all).size, `${label}: no resource twice`).toBe(all.length);
    for (const [index, page] of openSearch.forward.entries()) {
      // A plain listing on the table counts nothing under _total=estimate; the index may count it, but right.
      const expected = plainListing ? page.total && all.length : dynamo.forward[index]!.total;
      expect(page.total, `${label}: total on page ${index + 1}`).toBe(expected);
    }
    if (!plainListing) {
      // The table's plain listing pages through GSI3 and offers no previous links.
      expect(openSearch.forward.map((page) => page.hasPrevious), `${label}: previous links`).toEqual(dynamo.forward.map((page) => page.hasPrevious));
      expect(pageIds(openSearch.backward), `${label}: pages back through previous links`).toEqual(pageIds(dynamo.backward));
    }
    summary.compared++;
    summary.pages += dynamo.forward.length + dynamo.backward.length;
  });
});

// ---- running a query on one engine ---------------------------------------------------------

interface GeneratedQuery {
  /** undefined: a system search. */
  readonly resourceType?: string;
  /** Compartment search `Patient/{id}/{resourceType}`. */
  readonly compartment?: string;
  readonly params: readonly (readonly [string, string])[];
  /** The smallest page size to use; larger when the answer would need more than MAX_PAGES pages. */
  readonly count: number;
  readonly total?: 'none' | 'accurate';
}

interface PageAnswer {
  readonly ids: string[];
  readonly lastUpdated: string[];
  readonly included: string[];
  readonly total: number | undefined;
  readonly hasPrevious: boolean;
}

interface Answer {
  forward: PageAnswer[];
  readonly backward: PageAnswer[];
}

function describeQuery(query: GeneratedQuery): string {
  const path = query.compartment ? `Patient/${query.compartment}/${query.resourceType}` : (query.resourceType ?? '');
  const params = [...query.params, ...(query.total ? [['_total', query.total] as const] : [])];
  return `${path}?${params.map(([name, value]) => `${name}=${value}`).join('&')}`;
}

function parse(query: GeneratedQuery, count: number): SearchQuery {
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of [...query.params, ['_count', String(count)] as const, ...(query.total ? [['_total', query.total] as const] : [])]) {
    (parameters[name] ??= []).push(value);
  }
  return parseSearchRequest({
    resourceType: query.resourceType,
    compartment: query.compartment ? { resourceType: 'Patient', id: query.compartment } : undefined,
    parameters,
    strict: true,
    defaultCount: 20,
    maxCount: 1000,
  });
}

/** Every page through `next` links, then (`walkBack`) back from the last through `previous` links; 'too-costly' when refused so. */
async function answer(engine: SearchEngine, query: SearchQuery, walkBack: boolean): Promise<Answer | 'too-costly'> {
  const forward: SearchResult[] = [];
  try {
    for (let cursor: string | undefined = query.cursor; forward.length === 0 || cursor !== undefined; cursor = forward.at(-1)!.next) {
      expect(forward.length, 'pages').toBeLessThan(MAX_PAGES * 4);
      forward.push(await engine.search(tenant, { ...query, ...(cursor !== undefined ? { cursor } : {}) }));
    }
    const backward: SearchResult[] = [];
    for (let cursor = walkBack ? forward.at(-1)!.previous : undefined; cursor !== undefined; cursor = backward.at(-1)!.previous) {
      expect(backward.length, 'pages back').toBeLessThan(MAX_PAGES * 4);
      backward.push(await engine.search(tenant, { ...query, cursor }));
    }
    return { forward: forward.map(pageAnswer), backward: backward.map(pageAnswer) };
  } catch (error) {
    if (error instanceof FhirError && error.status === 400 && error.issues.some((issue) => issue.code === 'too-costly')) {
      return 'too-costly';
    }
    throw error;
  }
}

function pageAnswer(result: SearchResult): PageAnswer {
  return {
    ids: result.matches.map(keyOf),
    lastUpdated: result.matches.map((resource) => resource.meta?.lastUpdated ?? ''),
    included: result.included.map(keyOf).sort(),
    total: result.total,
    hasPrevious: result.previous !== undefined,
  };
}

function pageIds(pages: readonly PageAnswer[]): string[][] {
  return pages.map((page) => page.ids);
}

/** All matches in order, each run of equal `lastUpdated` sorted by Type/id. */
function withTiesOrdered(pages: readonly PageAnswer[]): string[] {
  const items = pages.flatMap((page) => page.ids.map((id, index) => ({ id, lastUpdated: page.lastUpdated[index]! })));
  const ordered: string[] = [];
  for (let start = 0; start < items.length; ) {
    let end = start;
    while (end < items.length && items[end]!.lastUpdated === items[start]!.lastUpdated) {
      end++;
    }
    ordered.push(...items.slice(start, end).map((item) => `${item.lastUpdated} ${item.id}`).sort());
    start = end;
  }
  return ordered;
}

function keyOf(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}`;
}

// ---- generating queries from the data -------------------------------------------------------

type Random = () => number;

/** A small seeded PRNG (mulberry32), so that every run asks the same queries. */
function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) {
    throw new Error('pick from an empty list');
  }
  return items[Math.floor(random() * items.length)]!;
}

function chance(random: Random, probability: number): boolean {
  return random() < probability;
}

/** R4 search.html#escaping. */
function escape(text: string): string {
  return text.replace(/[\\,|$]/g, '\\$&');
}

function generateQueries(all: readonly Resource[], random: Random): GeneratedQuery[] {
  const byType = new Map<string, Resource[]>();
  for (const resource of all) {
    byType.set(resource.resourceType, [...(byType.get(resource.resourceType) ?? []), resource]);
  }
  const ofType = (type: string) => byType.get(type) ?? [];
  const generated: GeneratedQuery[] = [];
  for (const resourceType of GENERIC_TYPES) {
    for (let index = 0; index < GENERIC_QUERIES; index++) {
      const criteria = Array.from({ length: chance(random, 0.3) ? 2 : 1 }, () => genericCriterion(random, resourceType, ofType(resourceType)));
      generated.push(withOptions(random, resourceType, { resourceType, params: criteria }));
    }
  }
  for (const family of curatedFamilies(ofType)) {
    for (let index = 0; index < CURATED_QUERIES; index++) {
      generated.push({ count: pick(random, PAGE_SIZES), ...family(random) });
    }
  }
  return generated;
}

/** Adds a page size, sometimes a sort and a `_total`. */
function withOptions(random: Random, resourceType: string, query: Omit<GeneratedQuery, 'count'>): GeneratedQuery {
  const params = [...query.params];
  if (chance(random, 0.5)) {
    params.push(['_sort', sortSpec(random, resourceType)]);
  }
  const total = chance(random, 0.15) ? pick(random, ['none', 'accurate'] as const) : undefined;
  return { ...query, params, count: pick(random, PAGE_SIZES), ...(total ? { total } : {}) };
}

function sortSpec(random: Random, resourceType: string): string {
  const sortable = [...searchParameters(resourceType).values()].filter((param) => SORTABLE.has(param.type)).map((param) => param.code);
  const rules = [pick(random, sortable)];
  if (chance(random, 0.4)) {
    rules.push(pick(random, ['_id', '_lastUpdated', pick(random, sortable)]));
  }
  return [...new Set(rules)].map((code) => (chance(random, 0.5) ? `-${code}` : code)).join(',');
}

/** A criterion on a random parameter of the type, from a value some resource has (or `:missing`). */
function genericCriterion(random: Random, resourceType: string, resources: readonly Resource[]): [string, string] {
  const params = [...searchParameters(resourceType).values()].filter((param) => param.type !== 'special' && param.code !== '_lastUpdated');
  for (let attempt = 0; attempt < 50; attempt++) {
    const param = pick(random, params);
    if (chance(random, 0.08)) {
      return [`${param.code}:missing`, chance(random, 0.5) ? 'true' : 'false'];
    }
    const resource = pick(random, resources);
    const values = extractValues(resource, param);
    if (values.length === 0) {
      continue;
    }
    const criterion = criterionFor(random, param, pick(random, values));
    if (criterion) {
      return criterion;
    }
  }
  return ['_id', pick(random, resources).id!];
}

/** A search value matching (or, through its prefix or modifier, deliberately not matching) `value`. */
function criterionFor(random: Random, param: SearchParameterDefinition, value: IndexValue): [string, string] | undefined {
  const { code } = param;
  if (value.type === 'composite') {
    const parts = value.components.map((component) => searchValue(random, component[0]!, false));
    return parts.every((part) => part !== undefined) ? [code, parts.join('$')] : undefined;
  }
  if (value.type === 'string') {
    const text = value.value;
    const roll = random();
    if (roll < 0.2) {
      return [`${code}:exact`, escape(text)];
    }
    if (roll < 0.4 && text.length > 2) {
      const start = Math.floor(random() * (text.length - 2));
      return [`${code}:contains`, escape(text.slice(start, start + 2 + Math.floor(random() * (text.length - start - 2))))];
    }
    const prefix = text.slice(0, 1 + Math.floor(random() * text.length));
    return [code, escape(chance(random, 0.3) ? prefix.toUpperCase() : prefix)];
  }
  if (value.type === 'token') {
    const roll = random();
    if (roll < 0.12 && value.text) {
      return [`${code}:text`, escape(value.text.slice(0, 1 + Math.floor(random() * value.text.length)))];
    }
    if (roll < 0.24 && value.code !== undefined) {
      return [`${code}:not`, value.system ? `${escape(value.system)}|${escape(value.code)}` : escape(value.code)];
    }
    const typeCoding = value.identifierType?.find((coding) => coding.system && coding.code);
    if (roll < 0.34 && typeCoding && value.code !== undefined) {
      return [`${code}:of-type`, `${escape(typeCoding.system!)}|${escape(typeCoding.code!)}|${escape(value.code)}`];
    }
  }
  const text = searchValue(random, value, true);
  if (text === undefined) {
    return undefined;
  }
  if (value.type === 'reference' && value.resourceType && value.id && chance(random, 0.3) && (param.targets ?? []).includes(value.resourceType)) {
    return [`${code}:${value.resourceType}`, value.id];
  }
  if (value.type === 'reference' && value.identifier?.value && chance(random, 0.5)) {
    return [`${code}:identifier`, `${value.identifier.system ? `${escape(value.identifier.system)}|` : ''}${escape(value.identifier.value)}`];
  }
  return [code, text];
}

/** The text of a search value for an indexed value; `anyPrefix` allows every prefix, else `eq`-like values only (composite parts). */
function searchValue(random: Random, value: IndexValue, anyPrefix: boolean): string | undefined {
  const prefix = () => (anyPrefix || chance(random, 0.5) ? pick(random, PREFIXES) : 'eq');
  switch (value.type) {
    case 'string':
      return escape(value.value.slice(0, 1 + Math.floor(random() * value.value.length)));
    case 'token': {
      if (value.code === undefined) {
        return undefined;
      }
      const roll = random();
      if (value.system && roll < 0.5) {
        return `${escape(value.system)}|${escape(value.code)}`;
      }
      if (value.system && roll < 0.6) {
        return `${escape(value.system)}|`;
      }
      if (roll < 0.7) {
        return `|${escape(value.code)}`;
      }
      return escape(value.code);
    }
    case 'reference':
      if (value.resourceType && value.id) {
        return `${value.resourceType}/${value.id}`;
      }
      // A contained (`#id`) or otherwise relative URL is no search value.
      return value.url && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value.url) ? escape(value.url) : undefined;
    case 'date': {
      const instant = chance(random, 0.5) ? value.start : value.end;
      return Number.isFinite(instant) ? `${prefix()}${dateText(random, instant)}` : undefined;
    }
    case 'number':
      return `${prefix()}${numberText(random, value.value)}`;
    case 'quantity': {
      const units = [
        '',
        value.system && value.code ? `|${escape(value.system)}|${escape(value.code)}` : '',
        value.code ? `||${escape(value.code)}` : '',
        value.unit ? `||${escape(value.unit)}` : '',
      ];
      return `${prefix()}${numberText(random, value.value)}${pick(random, units)}`;
    }
    case 'uri':
      return escape(value.value);
    case 'composite':
      return undefined;
  }
}

/** The instant at a random precision: a year, a month, a day, a second (UTC), or to the millisecond. */
function dateText(random: Random, instant: number): string {
  const iso = new Date(instant).toISOString();
  return pick(random, [iso.slice(0, 4), iso.slice(0, 7), iso.slice(0, 10), `${iso.slice(0, 19)}Z`, iso]);
}

/** The value as written, rounded to fewer decimals, or moved by up to 20%. */
function numberText(random: Random, value: number): string {
  const roll = random();
  if (roll < 0.4) {
    return String(value);
  }
  if (roll < 0.7) {
    return value.toFixed(Math.floor(random() * 3));
  }
  return (value * (0.8 + random() * 0.4)).toFixed(1);
}

// ---- curated families: what a parameter alone does not reach ---------------------------------

type Family = (random: Random) => Omit<GeneratedQuery, 'count'>;

function curatedFamilies(ofType: (type: string) => Resource[]): Family[] {
  const patients = ofType('Patient') as any[];
  const observations = ofType('Observation') as any[];
  const encounters = ofType('Encounter') as any[];
  const conditions = ofType('Condition') as any[];
  const organizations = ofType('Organization') as any[];
  const practitioners = ofType('Practitioner') as any[];
  const patientId = (random: Random) => pick(random, patients).id as string;
  const namePrefix = (random: Random, resource: any) => {
    const parts = (resource.name ?? []).flatMap((name: any) => [name.family, ...(name.given ?? [])]).filter(Boolean);
    const part: string = pick(random, parts);
    return escape(part.slice(0, 1 + Math.floor(random() * Math.min(part.length, 4))));
  };
  const coding = (random: Random, concept: any) => {
    const { system, code } = pick<any>(random, concept.coding);
    return `${escape(system)}|${escape(code)}`;
  };
  const observationCode = (random: Random) => coding(random, pick(random, observations).code);
  const quantityObservations = observations.filter((observation) => observation.valueQuantity);
  const bloodPressures = observations.filter((observation) => observation.component?.some((component: any) => component.valueQuantity));
  const sort = (random: Random, type: string) => (chance(random, 0.6) ? [['_sort', sortSpec(random, type)] as const] : []);

  return [
    // chains
    (random) => ({ resourceType: 'Observation', params: [['subject:Patient.name', namePrefix(random, pick(random, patients))], ['code', observationCode(random)]] }),
    (random) => ({ resourceType: 'Observation', params: [['patient.gender', pick(random, ['male', 'female'])], ['category', pick(random, ['vital-signs', 'laboratory', 'survey'])], ...sort(random, 'Observation')] }),
    (random) => ({ resourceType: 'Condition', params: [['patient.birthdate', `${pick(random, PREFIXES)}${pick(random, patients).birthDate.slice(0, 4)}`], ...sort(random, 'Condition')] }),
    (random) => ({ resourceType: 'Encounter', params: [['service-provider.name', namePrefixOfText(random, pick(random, organizations).name)], ...sort(random, 'Encounter')] }),
    (random) => ({ resourceType: 'Encounter', params: [['participant:Practitioner.family', namePrefix(random, pick(random, practitioners))]] }),
    (random) => ({ resourceType: 'DiagnosticReport', params: [['result.code', observationCode(random)]] }),
    (random) => ({ resourceType: 'Observation', params: [['encounter.service-provider.name', namePrefixOfText(random, pick(random, organizations).name)], ['code', observationCode(random)]] }),
    (random) => ({ resourceType: 'MedicationRequest', params: [['requester.name', namePrefix(random, pick(random, practitioners))]] }),
    // _has, nested and AND-ed
    (random) => ({ resourceType: 'Patient', params: [['_has:Condition:patient:code', coding(random, pick(random, conditions).code)], ...sort(random, 'Patient')] }),
    (random) => ({ resourceType: 'Patient', params: [['_has:Observation:patient:code', observationCode(random)], ['gender', pick(random, ['male', 'female'])]] }),
    (random) => ({ resourceType: 'Patient', params: [['_has:Encounter:patient:_has:Condition:encounter:code', coding(random, pick(random, conditions).code)]] }),
    (random) => ({ resourceType: 'Practitioner', params: [['_has:Encounter:participant:date', `ge${pick(random, encounters).period.start.slice(0, 4)}`], ...sort(random, 'Practitioner')] }),
    (random) => ({ resourceType: 'Organization', params: [['_has:Encounter:service-provider:class', pick(random, encounters).class.code]] }),
    // includes and reverse includes, with :iterate
    (random) => ({ resourceType: 'Encounter', params: [['patient', `Patient/${patientId(random)}`], ['_include', 'Encounter:service-provider'], ['_include', 'Encounter:participant'], ...sort(random, 'Encounter')] }),
    (random) => ({ resourceType: 'Patient', params: [['gender', pick(random, ['male', 'female'])], ['_revinclude', 'Condition:patient'], ['_revinclude', 'AllergyIntolerance:patient']] }),
    (random) => ({ resourceType: 'Encounter', params: [['patient', patientId(random)], ['_revinclude', 'Observation:encounter'], ['_include', 'Encounter:patient'], ['_include:iterate', 'Patient:general-practitioner']] }),
    (random) => ({ resourceType: 'DiagnosticReport', params: [['patient', `Patient/${patientId(random)}`], ['_include', 'DiagnosticReport:result'], ...sort(random, 'DiagnosticReport')] }),
    (random) => ({ resourceType: 'Claim', params: [['patient', `Patient/${patientId(random)}`], ['_include', 'Claim:*']] }),
    // composites and quantities with units
    (random) => {
      const observation = pick(random, bloodPressures);
      const component = pick<any>(random, observation.component.filter((part: any) => part.valueQuantity));
      return { resourceType: 'Observation', params: [['component-code-value-quantity', `${coding(random, component.code)}$${pick(random, PREFIXES)}${numberText(random, component.valueQuantity.value)}`]] };
    },
    (random) => {
      const observation = pick(random, quantityObservations);
      const unit = pick(random, ['', `|http://unitsofmeasure.org|${escape(observation.valueQuantity.code)}`, `||${escape(observation.valueQuantity.unit)}`]);
      return {
        resourceType: 'Observation',
        params: [['code-value-quantity', `${coding(random, observation.code)}$${pick(random, PREFIXES)}${numberText(random, observation.valueQuantity.value)}${unit}`], ...sort(random, 'Observation')],
      };
    },
    (random) => {
      const observation = pick(random, quantityObservations);
      return {
        resourceType: 'Observation',
        params: [['code', coding(random, observation.code)], ['value-quantity', `${pick(random, PREFIXES)}${numberText(random, observation.valueQuantity.value)}`], ['_sort', pick(random, ['value-quantity', '-value-quantity', '-date,_id'])]],
      };
    },
    // compartments
    (random) => ({ resourceType: 'Observation', compartment: patientId(random), params: [['code', observationCode(random)], ...sort(random, 'Observation')] }),
    (random) => ({ resourceType: pick(random, ['Encounter', 'Condition', 'Claim', 'Immunization', 'Procedure']), compartment: patientId(random), params: [['_sort', pick(random, ['-_lastUpdated', '_id', '-_id'])]] }),
    // system search
    (random) => ({ params: [['_type', 'Condition,Procedure,Immunization'], ['patient', `Patient/${patientId(random)}`], ['_sort', pick(random, ['_id', '-_lastUpdated', '-_id'])]] }),
    (random) => ({ params: [['_type', 'Patient,Practitioner'], ['gender', pick(random, ['male', 'female'])], ['_sort', pick(random, ['_id', '-_id'])]] }),
    (random) => ({ params: [['_id', `${patientId(random)},${pick(random, practitioners).id},${pick(random, encounters).id}`]] }),
    (random) => ({ params: [['_type', 'Organization,Practitioner'], ['_tag', 'https://smarthealthit.org/tags|synthea-5-2019'], ['address-city', namePrefixOfText(random, pick(random, organizations).address[0].city)]] }),
    // plain listings and totals
    (random) => ({ resourceType: pick(random, ['Patient', 'Goal', 'ImagingStudy', 'AllergyIntolerance', 'CarePlan']), params: [] }),
    (random) => ({ resourceType: pick(random, ['Patient', 'Organization', 'Practitioner']), params: [['_sort', pick(random, ['-_lastUpdated', '_lastUpdated'])]], total: 'accurate' }),
    (random) => ({ resourceType: 'Patient', params: [['_sort', sortSpec(random, 'Patient')]], total: pick(random, ['none', 'accurate'] as const) }),
  ];
}

/** A prefix of one word of a text (an organization's name, a city). */
function namePrefixOfText(random: Random, text: string): string {
  const word = pick(random, text.split(' ').filter(Boolean));
  return escape(word.slice(0, 1 + Math.floor(random() * Math.min(word.length, 5))));
}
