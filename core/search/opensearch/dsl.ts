/**
 * Building blocks of OpenSearch query DSL over the search document (document.ts), and the one
 * form in which a body is sent (`tenantScoped`). The combinators simplify as they go (`and` of
 * nothing matches all, `or` of nothing matches none), so generated queries stay small.
 */
import type { TenantId } from '../../tenant.js';
import { keptPrefix } from './document-limits.js';

/** A query DSL clause; the client's own types are too narrow for generated queries. */
export type Query = Record<string, unknown>;

export interface SearchBody {
  readonly query: Query;
  readonly sort?: readonly Query[];
  readonly size?: number;
  readonly search_after?: readonly unknown[];
  readonly track_total_hits?: boolean | number;
  readonly _source?: readonly string[] | false;
}

/**
 * The only form in which a body reaches OpenSearch: filtered to the tenant's documents and routed
 * to the tenant's shard. The engine sends nothing else, so no query can see another tenant.
 */
export function tenantScoped(tenant: TenantId, body: SearchBody): { readonly routing: string; readonly body: SearchBody } {
  return { routing: tenant, body: { ...body, query: and([term('tenant', tenant), body.query]) } };
}

/** Field prefixes of a value: a top-level value, or a part of a composite one. */
export type Scope = typeof VALUES | typeof PARTS;
export const VALUES = 'values.';
export const PARTS = 'values.parts.';

export const MATCH_ALL: Query = { match_all: {} };
export const MATCH_NONE: Query = { match_none: {} };

/** All of `clauses` (undefined ones left out); no clause matches everything. */
export function and(clauses: readonly (Query | undefined)[]): Query {
  const present = clauses.filter((clause): clause is Query => clause !== undefined && clause !== MATCH_ALL);
  if (present.some((clause) => clause === MATCH_NONE)) {
    return MATCH_NONE;
  }
  return present.length === 0 ? MATCH_ALL : present.length === 1 ? present[0] : { bool: { filter: present } };
}

/** Any of `clauses`; none matches nothing. */
export function or(clauses: readonly Query[]): Query {
  const present = clauses.filter((clause) => clause !== MATCH_NONE);
  if (present.some((clause) => clause === MATCH_ALL)) {
    return MATCH_ALL;
  }
  return present.length === 0 ? MATCH_NONE : present.length === 1 ? present[0] : { bool: { should: present, minimum_should_match: 1 } };
}

export function not(clause: Query): Query {
  return clause === MATCH_NONE ? MATCH_ALL : clause === MATCH_ALL ? MATCH_NONE : { bool: { must_not: [clause] } };
}

/** Equality; an over-long string compares by the part the index keeps of stored ones (document-limits.ts). */
export function term(field: string, value: string | number | undefined): Query {
  // An absent value (only from a malformed query) equals no stored value.
  return value === undefined ? MATCH_NONE : { term: { [field]: typeof value === 'string' ? keptPrefix(value) : value } };
}

export function terms(field: string, values: readonly string[]): Query {
  return values.length === 0 ? MATCH_NONE : { terms: { [field]: values.map(keptPrefix) } };
}

export function exists(field: string): Query {
  return { exists: { field } };
}

/** A comparison; strings as `term` compares them, so that keyset paging agrees with the index's order. */
export function range(field: string, operator: 'gt' | 'gte' | 'lt' | 'lte', value: string | number): Query {
  return { range: { [field]: { [operator]: typeof value === 'string' ? keptPrefix(value) : value } } };
}

/** Keyword starts-with; every value starts with the empty string. */
export function startsWith(field: string, prefix: string): Query {
  return prefix === '' ? exists(field) : { prefix: { [field]: { value: prefix } } };
}

/** Keyword contains, as a wildcard with the search text's own `*`, `?` and `\` escaped. */
export function contains(field: string, text: string): Query {
  return text === '' ? exists(field) : { wildcard: { [field]: { value: `*${text.replace(/[\\*?]/g, '\\$&')}*` } } };
}

export function nested(path: string, query: Query): Query {
  return query === MATCH_NONE ? MATCH_NONE : { nested: { path, query, score_mode: 'none' } };
}

/** A resource having some value meeting `condition`. */
export function someValue(condition: Query): Query {
  return nested('values', condition);
}
