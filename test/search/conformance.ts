/**
 * The search conformance runner, engine-agnostic: loads the fixtures into a fresh tenant through
 * the REST API and registers one test per case of `cases.ts`. Each engine gets a test file that
 * calls `runSearchConformance` with a client for a server running that engine.
 *
 *   runSearchConformance('DynamoDB engine', useLocalApi());
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiResponse, RequestOptions } from '../support/local-api.js';
import type { SettledWriter } from '../support/settled-writes.js';
import { CASE_GROUPS, type ErrorExpectation, type MatchExpectation, type SearchCase } from './cases.js';
import { FIXTURES } from './fixtures.js';

/** What the runner needs of a server: `useLocalApi()` or any client with the same shape. */
export interface SearchApi {
  readonly baseUrl: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
}

export interface ConformanceOptions {
  /** Runs after the fixtures are written, e.g. to wait until an asynchronous index has them. */
  readonly afterLoad?: (tenant: string) => Promise<void>;
  /**
   * Every other fixture is written settled (indexed, in every GSI) rather than through the API,
   * whose writes the indexes lag behind: every case then runs over both at once, so it shows that
   * the recent-changes overlay and the indexes merge into the same answer.
   */
  readonly settled?: SettledWriter;
}

/** `meta.lastUpdated` of each fixture, by `Type/id`, as the server returned it on create. */
type LoadedFixtures = Map<string, string>;

const SUBSETTED = 'SUBSETTED';
/** A runaway `next` chain fails the case instead of looping. */
const MAX_PAGES = 100;

export function runSearchConformance(label: string, api: SearchApi, options: ConformanceOptions = {}): void {
  describe(`search conformance: ${label}`, () => {
    const tenant = `search-${randomUUID().slice(0, 8)}`;
    const loaded: LoadedFixtures = new Map();

    beforeAll(async () => {
      await loadFixtures(api, tenant, loaded, options.settled);
      await options.afterLoad?.(tenant);
    }, 120_000);

    for (const group of CASE_GROUPS) {
      describe(group.category, () => {
        it.each(group.cases)('$name: $query', (searchCase) => runCase(api, tenant, loaded, searchCase));
      });
    }
  });
}

/** PUT (update-as-create) every fixture in order, every other one settled if asked; any answer but 201 fails the whole suite. */
async function loadFixtures(api: SearchApi, tenant: string, loaded: LoadedFixtures, settled: SettledWriter | undefined): Promise<void> {
  const failures: string[] = [];
  for (const [index, resource] of FIXTURES.entries()) {
    const key = `${resource.resourceType}/${resource.id}`;
    if (settled && index % 2 === 0) {
      loaded.set(key, (await settled(tenant, resource)).meta!.lastUpdated!);
      continue;
    }
    const response = await api.request('PUT', `/${key}`, { body: resource, tenant });
    if (response.status === 201) {
      loaded.set(key, response.json.meta.lastUpdated);
    } else {
      failures.push(`${key}: HTTP ${response.status} ${issuesText(response)}`);
    }
  }
  if (failures.length > 0) {
    throw new Error(`The server refused ${failures.length} search fixture(s):\n${failures.join('\n')}`);
  }
}

async function runCase(api: SearchApi, tenant: string, loaded: LoadedFixtures, searchCase: SearchCase): Promise<void> {
  const response = await send(api, tenant, loaded, searchCase);
  if (isError(searchCase.expect)) {
    expectRejection(response, searchCase.expect);
  } else {
    await expectMatches(api, tenant, response, searchCase.expect);
  }
}

function isError(expectation: MatchExpectation | ErrorExpectation): expectation is ErrorExpectation {
  return 'status' in expectation;
}

// ---- the request ---------------------------------------------------------------------------

interface ParsedQuery {
  /** `/Patient`, `/Patient/pat-1/Observation`, or `/` for a system search. */
  readonly path: string;
  readonly params: readonly (readonly [string, string])[];
}

/** Splits `Type?a=1&b=2` at the first `?`, each pair at its first `=`, and fills placeholders. */
function parseQuery(query: string, loaded: LoadedFixtures): ParsedQuery {
  const mark = query.indexOf('?');
  const path = `/${mark < 0 ? query : query.slice(0, mark)}`;
  const text = mark < 0 ? '' : query.slice(mark + 1);
  const params = text === '' ? [] : text.split('&').map((pair): [string, string] => {
    const equals = pair.indexOf('=');
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? '' : pair.slice(equals + 1);
    return [name, fillPlaceholders(value, loaded)];
  });
  return { path, params };
}

function fillPlaceholders(value: string, loaded: LoadedFixtures): string {
  return value.replace(/\{lastUpdated:([^}]+)\}/g, (_, key: string) => {
    const instant = loaded.get(key);
    if (!instant) {
      throw new Error(`No fixture ${key} was loaded for the placeholder in "${value}"`);
    }
    return instant;
  });
}

/** The request path of a query written as in `cases.ts` (`Type?name=value&...`), values encoded. */
export function searchPath(query: string, loaded: LoadedFixtures = new Map()): string {
  const { path, params } = parseQuery(query, loaded);
  // encodeURIComponent, not URLSearchParams: a space goes as %20, since a query string is not a form
  // body and not every decoder reads `+` as a space; a literal `+` (a time zone offset) goes as %2B.
  const encoded = params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  return encoded ? `${path}?${encoded}` : path;
}

async function send(api: SearchApi, tenant: string, loaded: LoadedFixtures, searchCase: SearchCase): Promise<ApiResponse> {
  if (searchCase.method === 'POST') {
    const { path, params } = parseQuery(searchCase.query, loaded);
    const body = new URLSearchParams(params.map(([name, value]): [string, string] => [name, value])).toString();
    const postPath = path === '/' ? '/_search' : `${path}/_search`;
    return api.request('POST', postPath, { body, tenant, headers: { 'content-type': 'application/x-www-form-urlencoded', ...searchCase.headers } });
  }
  return api.request('GET', searchPath(searchCase.query, loaded), { tenant, headers: searchCase.headers });
}

// ---- the answer ----------------------------------------------------------------------------

function expectRejection(response: ApiResponse, expectation: ErrorExpectation): void {
  expect(response.status, `expected HTTP ${expectation.status}, got ${response.status}: ${response.text.slice(0, 500)}`).toBe(expectation.status);
  expect(response.json?.resourceType, 'the error body').toBe('OperationOutcome');
  const text = issuesText(response);
  expect(
    expectation.mentions.some((mention) => text.includes(mention)),
    `the OperationOutcome names ${expectation.mentions.join(' or ')}: ${text}`,
  ).toBe(true);
}

export interface Page {
  readonly matches: any[];
  readonly included: any[];
  readonly outcomes: any[];
  readonly bundle: any;
}

/** The searchset page `response` carries and, with `followNext`, every page its `next` links lead to. */
export async function readPages(api: SearchApi, tenant: string, response: ApiResponse, followNext = true): Promise<Page[]> {
  const pages = [readPage(response)];
  for (let next = followNext ? nextLink(pages[0]!.bundle) : undefined; next !== undefined; next = nextLink(pages.at(-1)!.bundle)) {
    expect(pages.length, `more than ${MAX_PAGES} pages`).toBeLessThan(MAX_PAGES);
    pages.push(readPage(await api.request('GET', pathOf(api.baseUrl, next), { tenant })));
  }
  return pages;
}

async function expectMatches(api: SearchApi, tenant: string, response: ApiResponse, expectation: MatchExpectation): Promise<void> {
  const pages = await readPages(api, tenant, response, expectation.followNext ?? false);
  const first = pages[0]!;
  const matches = pages.flatMap((page) => page.matches);
  const typed = expectation.ids.some((id) => id.includes('/'));
  const matchIds = matches.map((resource) => (typed ? keyOf(resource) : resource.id));
  const allKeys = [...matches, ...pages.flatMap((page) => page.included)].map(keyOf);
  expect(duplicates(allKeys), 'resources that appear more than once').toEqual([]);
  if (expectation.ordered) {
    expect(matchIds, 'match ids, in order').toEqual([...expectation.ids]);
  } else {
    expect([...matchIds].sort(), 'match ids').toEqual([...expectation.ids].sort());
  }
  const included = pages.flatMap((page) => page.included).map(keyOf);
  expect(included.sort(), 'included (search.mode = include)').toEqual([...(expectation.included ?? [])].sort());
  if (expectation.total !== undefined) {
    expect(first.bundle.total, 'Bundle.total').toBe(expectation.total);
  }
  if (expectation.elements) {
    for (const resource of matches) {
      expectElements(resource, expectation.elements);
    }
  }
  if (expectation.ignored !== undefined) {
    expectIgnored(first, expectation.ignored);
  }
}

function readPage(response: ApiResponse): Page {
  expect(response.status, `expected HTTP 200, got ${response.status}: ${response.text.slice(0, 500)}`).toBe(200);
  const bundle = response.json;
  expect(bundle?.resourceType, 'the answer').toBe('Bundle');
  expect(bundle.type, 'Bundle.type').toBe('searchset');
  const entries: any[] = bundle.entry ?? [];
  const mode = (entry: any): string => entry.search?.mode ?? (entry.resource?.resourceType === 'OperationOutcome' ? 'outcome' : 'match');
  const resourcesOf = (wanted: string) => entries.filter((entry) => mode(entry) === wanted).map((entry) => entry.resource);
  return { matches: resourcesOf('match'), included: resourcesOf('include'), outcomes: resourcesOf('outcome'), bundle };
}

function nextLink(bundle: any): string | undefined {
  return (bundle.link ?? []).find((link: any) => link.relation === 'next')?.url;
}

function selfLink(bundle: any): string | undefined {
  return (bundle.link ?? []).find((link: any) => link.relation === 'self')?.url;
}

/** Links are absolute; the client wants the path under its base URL. */
function pathOf(baseUrl: string, url: string): string {
  if (url.startsWith(baseUrl)) {
    return url.slice(baseUrl.length);
  }
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

export function keyOf(resource: any): string {
  return `${resource?.resourceType}/${resource?.id}`;
}

export function duplicates(keys: readonly string[]): string[] {
  return [...new Set(keys.filter((key, index) => keys.indexOf(key) !== index))];
}

function expectElements(resource: any, elements: NonNullable<MatchExpectation['elements']>): void {
  const key = keyOf(resource);
  for (const name of elements.present ?? []) {
    expect(resource[name], `${key}.${name} is present`).toBeDefined();
  }
  for (const name of elements.absent ?? []) {
    expect(resource[name], `${key}.${name} is absent`).toBeUndefined();
  }
  if (elements.subsetted !== undefined) {
    const subsetted = (resource.meta?.tag ?? []).some((tag: any) => tag.code === SUBSETTED);
    expect(subsetted, `${key} carries the ${SUBSETTED} tag`).toBe(elements.subsetted);
  }
}

/** R4 search.html#errors: ignored parameters are reported in an outcome entry and not echoed in `self`. */
function expectIgnored(page: Page, parameter: string): void {
  expect(
    page.outcomes.some((outcome) => JSON.stringify(outcome).includes(parameter)),
    `an OperationOutcome entry (search.mode = outcome) names "${parameter}"`,
  ).toBe(true);
  const self = selfLink(page.bundle);
  expect(self, 'the self link').toBeDefined();
  const names = [...new URL(self!).searchParams.keys()].map((name) => name.split(':')[0]);
  expect(names, 'parameters in the self link').not.toContain(parameter);
}

function issuesText(response: ApiResponse): string {
  const issues: any[] = response.json?.issue ?? [];
  return issues.map((issue) => [issue.diagnostics, issue.details?.text, ...(issue.expression ?? [])].filter(Boolean).join(' ')).join('; ') || response.text.slice(0, 300);
}
