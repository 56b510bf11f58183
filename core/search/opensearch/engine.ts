/**
 * The OpenSearch search engine: the same answers as the DynamoDB engine (same matches, order,
 * pages, totals), computed by the index the stream processor keeps. Chains, `_has`, the
 * compartment and includes are resolved as the DynamoDB engine resolves them (`resolve.ts`),
 * with inner searches answered here; every criterion becomes DSL (`criteria.ts`); resources come
 * from `_source`, so a search reads nothing from DynamoDB. Eventually consistent: a write is
 * searchable once the stream processor has indexed it and the index refreshed (about a second).
 * With `recentChanges`, what the index says of recently written resources not yet searchable there
 * (not indexed, or indexed less than a refresh interval ago) is replaced by their current versions
 * from the table, matched, sorted and paged here with the index's hits, so a search sees every
 * write acknowledged before it began (docs/consistency.md).
 *
 * Paging is keyset, as in `pager.ts`: a cursor (`page-cursor.ts`) holds the sort key and `Type/id`
 * of a page's last (or first) resource, and the next page is the first `_count` resources strictly
 * after that position, expressed as a query (`keyset.ts`), so resources without a sort value,
 * which sort last, page exactly like the others.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../../errors.js';
import type { RecentChanges, RecentChangesReader } from '../../storage/recent-changes.js';
import type { TenantId } from '../../tenant.js';
import type { SearchEngine, SearchResult } from '../engine.js';
import { decodePageCursor, encodePageCursor } from '../page-cursor.js';
import { matchesAll, type ResolvedCriterion } from '../match.js';
import { includedResources, keyOf, type MatchSource, resolveCriteria } from '../resolve.js';
import { compareSortPositions, DEFAULT_SORT, sortKey } from '../sort.js';
import type { SearchQuery, SortRule } from '../types.js';
import { matchingQuery } from './criteria.js';
import { and, not, type Query, type SearchBody, tenantScoped, terms } from './dsl.js';
import { isPosition, positionQuery, sortClauses } from './keyset.js';
import { INDEX_REFRESH_MS } from './mapping.js';

export interface OpenSearchEngineOptions {
  /**
   * Most resources an inner search (a chain's or `_has`'s inner criterion, a `_revinclude`) may
   * find before the search is refused as too costly; at most OpenSearch's `index.max_terms_count`
   * (65,536), since the set becomes a `terms` query.
   */
  readonly maxInnerMatches?: number;
  /** Merges the table's recent changes into every answer (read-your-writes); without it the engine answers from the index alone. */
  readonly recentChanges?: RecentChanges;
}

/** A search's recent changes: the resources the index may be stale on, and those of them that match. */
interface RecentMatches {
  readonly refs: readonly string[];
  readonly matches: readonly Resource[];
}

const NO_RECENT_CHANGES: RecentChangesReader = async () => ({ refs: new Set(), current: [] });

/** Resources per request when an inner search or an include reads a whole set. */
const FETCH_PAGE = 1_000;

interface Hit {
  readonly _source: { readonly resource: Resource; readonly ref: string };
}

interface SearchResponse {
  readonly hits: { readonly total?: { readonly value: number; readonly relation: 'eq' | 'gte' }; readonly hits: readonly Hit[] };
}

/** A search's error: `error` is OpenSearch's error object (type, reason, causes, shard failures). */
type MultiSearchItem = SearchResponse | { readonly status?: number; readonly error: unknown };

type Page = Omit<SearchResult, 'included'>;

export class OpenSearchEngine implements SearchEngine {
  private readonly maxInnerMatches: number;

  constructor(
    private readonly client: Client,
    private readonly index: string,
    private readonly options: OpenSearchEngineOptions = {},
  ) {
    this.maxInnerMatches = options.maxInnerMatches ?? 10_000;
  }

  async search(tenant: TenantId, query: SearchQuery): Promise<SearchResult> {
    // Recent changes whose documents are searchable already are left to the index.
    const recent = this.options.recentChanges?.reader(tenant, { indexRefreshMs: INDEX_REFRESH_MS }) ?? NO_RECENT_CHANGES;
    const source: MatchSource = {
      findMatching: (_tenant, resourceType, criteria) => this.findMatching(tenant, resourceType, criteria, recent),
      readCurrent: (_tenant, references) => this.readCurrent(tenant, references, recent),
    };
    const byType = [];
    const recentRefs: string[] = [];
    const recentMatches: Resource[] = [];
    for (const resourceType of query.resourceTypes) {
      const criteria = await resolveCriteria(source, tenant, resourceType, query);
      byType.push({ resourceType, criteria });
      const written = await recent(resourceType);
      recentRefs.push(...written.refs);
      recentMatches.push(...currentResources(written.current).filter((resource) => matchesAll(resource, criteria)));
    }
    const matching = withoutRefs(matchingQuery(byType, Date.now()), recentRefs);
    const recentlyWritten = { refs: recentRefs, matches: recentMatches };
    if (query.summary === 'count' || query.count === 0) {
      const [counted] = await this.searchTenant(tenant, [{ query: matching, size: 0, track_total_hits: true }]);
      return { matches: [], included: [], total: hitCount(counted) + recentMatches.length };
    }
    const page = await this.page(tenant, matching, query, recentlyWritten);
    return { ...page, included: await includedResources(source, tenant, page.matches, query) };
  }

  /**
   * The page the cursor and `_count` ask for, with `next`/`previous` exactly as `pageOf` gives
   * them: the resources after (or before) the cursor's position, and a count of those on the
   * other side of it, which together make the total. The index's hits (which leave the recent
   * changes out) and the matching recent changes are two disjoint ordered lists: the page is
   * the first (or last) `_count` of their merge on the cursor's side.
   */
  private async page(tenant: TenantId, matching: Query, query: SearchQuery, recent: RecentMatches): Promise<Page> {
    const rules = query.sort.length > 0 ? query.sort : DEFAULT_SORT;
    const cursor = query.cursor === undefined ? undefined : decodePageCursor(query.cursor);
    if (cursor && !isPosition(rules, cursor)) {
      throw FhirError.badRequest('Invalid paging cursor', '_cursor');
    }
    const count = query.count;
    // One more than a page tells whether another follows. Hits are always counted: besides giving
    // the total, that keeps OpenSearch from skipping documents by a sort field's values, which
    // picks wrong pages when the field is nested (seen on OpenSearch 2.19).
    const fetch = (filter: Query, reverse: boolean): SearchBody => ({ query: filter, sort: sortClauses(rules, reverse), size: count + 1, track_total_hits: true, _source: ['resource'] });
    const counting = (filter: Query): SearchBody => ({ query: filter, size: 0, track_total_hits: true });
    const totalOf = (...responses: SearchResponse[]) => (query.total === 'none' ? undefined : responses.reduce((sum, response) => sum + hitCount(response), 0) + recent.matches.length);
    const ordered = (resources: readonly Resource[]) => inOrder(rules, resources);
    const recentSide = (side: (order: number) => boolean) => ordered(recent.matches.filter((resource) => cursor && side(compareSortPositions(rules, positionOf(rules, resource), cursor))));

    if (!cursor) {
      const [found] = await this.searchTenant(tenant, [fetch(matching, false)]);
      return this.cut(rules, ordered([...resourcesOf(found), ...recent.matches]), count, { total: totalOf(found), hasEarlier: false });
    }
    if (!cursor.before) {
      const after = positionQuery(rules, cursor, 'after');
      const [found, earlier] = await this.searchTenant(tenant, [fetch(and([matching, after]), false), counting(and([matching, not(after)]))]);
      const recentEarlier = recentSide((order) => order <= 0).length;
      return this.cut(rules, ordered([...resourcesOf(found), ...recentSide((order) => order > 0)]), count, {
        total: totalOf(found, earlier),
        hasEarlier: hitCount(earlier) + recentEarlier > 0,
      });
    }
    // The page ending just before the cursor; when fewer than a page come before it, the first
    // page (`pageOf` keeps a previous page full).
    const before = positionQuery(rules, cursor, 'before');
    const [found, later] = await this.searchTenant(tenant, [fetch(and([matching, before]), true), counting(and([matching, not(before)]))]);
    const preceding = ordered([...resourcesOf(found), ...recentSide((order) => order < 0)]).reverse();
    if (preceding.length < count) {
      const [first] = await this.searchTenant(tenant, [fetch(matching, false)]);
      return this.cut(rules, ordered([...resourcesOf(first), ...recent.matches]), count, { total: totalOf(first), hasEarlier: false });
    }
    const matches = preceding.slice(0, count).reverse();
    return {
      matches,
      total: totalOf(found, later),
      next: hitCount(later) + recentSide((order) => order >= 0).length > 0 ? this.cursorAt(rules, matches[matches.length - 1], false) : undefined,
      previous: preceding.length > count ? this.cursorAt(rules, matches[0], true) : undefined,
    };
  }

  /** A page from up to `count + 1` resources in order, the first of them right after whatever `hasEarlier` says precedes. */
  private cut(rules: readonly SortRule[], found: readonly Resource[], count: number, context: { total: number | undefined; hasEarlier: boolean }): Page {
    const matches = found.slice(0, count);
    const first = matches[0];
    const last = matches[matches.length - 1];
    return {
      matches,
      total: context.total,
      next: last && found.length > count ? this.cursorAt(rules, last, false) : undefined,
      previous: first && context.hasEarlier ? this.cursorAt(rules, first, true) : undefined,
    };
  }

  private cursorAt(rules: readonly SortRule[], resource: Resource, before: boolean): string {
    return encodePageCursor({ key: sortKey(resource, rules), ref: keyOf(resource) }, before);
  }

  /** Every resource of `resourceType` meeting `criteria`, read in `Type/id` order; refused above `maxInnerMatches`. */
  private async findMatching(tenant: TenantId, resourceType: string, criteria: readonly ResolvedCriterion[], recent: RecentChangesReader): Promise<Resource[]> {
    const written = await recent(resourceType);
    const matching = withoutRefs(matchingQuery([{ resourceType, criteria }], Date.now()), [...written.refs]);
    const found: Resource[] = [];
    let after: string | undefined;
    do {
      const [response] = await this.searchTenant(tenant, [
        {
          query: matching,
          sort: [{ ref: { order: 'asc' } }],
          size: FETCH_PAGE,
          ...(after === undefined ? { track_total_hits: this.maxInnerMatches + 1 } : { search_after: [after], track_total_hits: false }),
          _source: ['resource', 'ref'],
        },
      ]);
      if (after === undefined && (response.hits.total?.value ?? 0) > this.maxInnerMatches) {
        throw FhirError.of(
          400,
          'too-costly',
          `This search would need more than ${this.maxInnerMatches} ${resourceType} resources to resolve a chain, _has or _revinclude. Narrow the inner criteria.`,
        );
      }
      const hits = response.hits.hits;
      found.push(...hits.map((hit) => hit._source.resource));
      after = hits.length === FETCH_PAGE ? hits[hits.length - 1]._source.ref : undefined;
    } while (after !== undefined);
    return [...found, ...currentResources(written.current).filter((resource) => matchesAll(resource, criteria))];
  }

  /** The resources behind `references`, in the order given; those in neither the index nor the recent changes are left out. */
  private async readCurrent(tenant: TenantId, references: readonly { resourceType: string; id: string }[], recent: RecentChangesReader): Promise<Resource[]> {
    const keys = [...new Set(references.map(({ resourceType, id }) => `${resourceType}/${id}`))];
    const byKey = new Map<string, Resource>();
    const stale = new Set<string>();
    for (const resourceType of new Set(references.map((reference) => reference.resourceType))) {
      const written = await recent(resourceType);
      written.refs.forEach((ref) => stale.add(ref));
      currentResources(written.current).forEach((resource) => byKey.set(keyOf(resource), resource));
    }
    const fromIndex = keys.filter((key) => !stale.has(key));
    const requests: SearchBody[] = [];
    for (let start = 0; start < fromIndex.length; start += FETCH_PAGE) {
      const chunk = fromIndex.slice(start, start + FETCH_PAGE);
      requests.push({ query: terms('ref', chunk), size: chunk.length, track_total_hits: false, _source: ['resource'] });
    }
    const responses = requests.length > 0 ? await this.searchTenant(tenant, requests) : [];
    for (const resource of responses.flatMap(resourcesOf)) {
      byKey.set(keyOf(resource), resource);
    }
    return keys.flatMap((key) => byKey.get(key) ?? []);
  }

  /**
   * The one way this engine reaches OpenSearch: every body scoped to the tenant (`tenantScoped`),
   * sent together as one multi-search. Failures become OperationOutcome-ready errors: a query the
   * index refuses (too many clauses, too long or complex) is a 400 with advice, anything else
   * (unreachable, timed out, no index, overloaded, 5xx) a 503.
   */
  private async searchTenant(tenant: TenantId, bodies: readonly SearchBody[]): Promise<SearchResponse[]> {
    const lines = bodies.flatMap((body) => {
      const scoped = tenantScoped(tenant, body);
      return [{ index: this.index, routing: scoped.routing }, scoped.body];
    });
    let items: readonly MultiSearchItem[];
    try {
      const response = await this.client.msearch({ body: lines as never });
      items = (response.body as unknown as { responses: MultiSearchItem[] }).responses;
    } catch (error) {
      // A whole request refused (e.g. too large for `http.max_content_length`), else unreachable or timed out.
      const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
      throw status !== undefined && isRefusal(status) ? refused((error as { meta?: { body?: unknown } }).meta?.body) : unavailable(error);
    }
    return items.map((item) => {
      if ('error' in item) {
        throw failure(item);
      }
      return item;
    });
  }
}

/** Hits counted with `track_total_hits: true`, hence exact. */
function hitCount(response: SearchResponse): number {
  return response.hits.total?.value ?? 0;
}

function resourcesOf(response: SearchResponse): Resource[] {
  return response.hits.hits.map((hit) => hit._source.resource);
}

/** The resources of current versions from the table (deleted ones have none). */
function currentResources(versions: readonly { readonly resource?: Resource }[]): Resource[] {
  return versions.flatMap((version) => (version.resource ? [version.resource] : []));
}

/** The query without the resources whose index documents may be stale (the recent changes answer for them). */
function withoutRefs(query: Query, refs: readonly string[]): Query {
  return refs.length === 0 ? query : and([query, not(terms('ref', refs))]);
}

function positionOf(rules: readonly SortRule[], resource: Resource): { key: ReturnType<typeof sortKey>; ref: string } {
  return { key: sortKey(resource, rules), ref: keyOf(resource) };
}

/** Resources in the order of `rules`. */
function inOrder(rules: readonly SortRule[], resources: readonly Resource[]): Resource[] {
  return resources
    .map((resource) => ({ resource, position: positionOf(rules, resource) }))
    .sort((a, b) => compareSortPositions(rules, a.position, b.position))
    .map((entry) => entry.resource);
}

/** OpenSearch's error types for a query with more clauses than `indices.query.bool.max_clause_count`. */
const TOO_MANY_CLAUSES = new Set(['too_many_clauses', 'too_many_nested_clauses']);

/** A search OpenSearch answered with an error: refused as asked (4xx) is the caller's 400, anything else a 503. */
function failure(item: Extract<MultiSearchItem, { error: unknown }>): FhirError {
  return isRefusal(item.status ?? 500) ? refused(item.error) : unavailable(item.error);
}

/**
 * A 4xx is OpenSearch refusing the query itself (too many clauses, a value too long or complex to
 * match, a limit such as `index.max_terms_count`): asking again cannot help, narrowing can. 404
 * (no index) and 429 (overloaded) are the index's state, not the query's.
 */
function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 404 && status !== 408 && status !== 429;
}

/** A 400 saying how to narrow the search; the OpenSearch error stays attached for the logs. */
function refused(cause: unknown): FhirError {
  const advice = errorTypes(cause).some((type) => TOO_MANY_CLAUSES.has(type))
    ? 'This search has more conditions than the search index allows. Use fewer comma-separated (OR) values and fewer parameters, or split it into several searches.'
    : 'The search index refused this search as too large or complex. Use shorter text values (prefix and :contains searches above all), fewer comma-separated (OR) values and fewer parameters.';
  return Object.assign(FhirError.of(400, 'too-costly', advice), { cause });
}

/** Every error type in an OpenSearch error, its causes and its shards' failures. */
function errorTypes(error: unknown): string[] {
  if (typeof error !== 'object' || error === null) {
    return [];
  }
  const { type, caused_by, root_cause, failed_shards } = error as Record<string, unknown>;
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  return [
    ...(typeof type === 'string' ? [type] : []),
    ...errorTypes(caused_by),
    ...list(root_cause).flatMap(errorTypes),
    ...list(failed_shards).flatMap((shard) => errorTypes((shard as { reason?: unknown }).reason)),
  ];
}

/** A 503 that names no internals; the cause stays attached for the logs. */
function unavailable(cause: unknown): FhirError {
  const error = FhirError.of(503, 'transient', 'The search index is unavailable; retry later');
  return Object.assign(error, { cause });
}
