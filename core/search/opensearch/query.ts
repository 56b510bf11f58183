/**
 * Resolved search criteria, sort rules and paging positions as OpenSearch query DSL, with exactly
 * the meaning `match.ts` and `sort.ts` give them: every function here mirrors one there, field by
 * field over the nested values of document.ts. Pure (no client), so each translation can be
 * tested on its own; the engine adds only the tenant (`tenantScoped`, the one way a body is sent).
 */
import type { TenantId } from '../../tenant.js';
import type { Position } from '../engine.js';
import type { ResolvedCriterion } from '../match.js';
import { normalizeString } from '../../r4/precision.js';
import type { SortKeyPart } from '../sort.js';
import type { Criterion, CriterionValue, Modifier, Prefix, SortRule } from '../types.js';
import { identifierTypeKey } from './document.js';

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

// ---- which resources match ---------------------------------------------------------------

/**
 * Resources of any of the searched types meeting all of that type's resolved criteria. Types
 * whose criteria translate alike (a system search) share one clause, so a search over every type
 * stays a handful of clauses.
 */
export function matchingQuery(byType: readonly { readonly resourceType: string; readonly criteria: readonly ResolvedCriterion[] }[], now: number): Query {
  const groups = new Map<string, { types: string[]; clauses: Query[] }>();
  for (const { resourceType, criteria } of byType) {
    const clauses = criteria.map((criterion) => resolvedQuery(criterion, now));
    const key = JSON.stringify(clauses);
    const group = groups.get(key) ?? { types: [], clauses };
    group.types.push(resourceType);
    groups.set(key, group);
  }
  return or([...groups.values()].map(({ types, clauses }) => and([terms('resourceType', types), ...clauses])));
}

/** `matchesResolved`. */
export function resolvedQuery(resolved: ResolvedCriterion, now: number): Query {
  switch (resolved.kind) {
    case 'criterion':
      return criterionQuery(resolved.criterion, now);
    case 'references':
      return someValue(
        and([terms(`${VALUES}param`, resolved.params.map((param) => param.code)), term(`${VALUES}type`, 'reference'), terms(`${VALUES}key`, [...resolved.references])]),
      );
    case 'self':
      return terms('ref', [...resolved.references]);
    case 'any':
      return or(resolved.of.map((alternative) => resolvedQuery(alternative, now)));
  }
}

/** `matchesCriterion`: `now` is the instant `ap` on dates measures from. */
export function criterionQuery(criterion: Criterion, now: number): Query {
  const code = criterion.param.code;
  const valueOf = (condition?: Query) => someValue(and([term(`${VALUES}param`, code), condition]));
  if (criterion.modifier === 'missing') {
    const wanted = criterion.values.some((value) => value.kind === 'missing' && value.missing);
    return wanted ? not(valueOf()) : valueOf();
  }
  if (criterion.modifier === 'not') {
    // R4: :not matches resources where no value matches, including those without a value.
    return not(valueOf(or(criterion.values.map((value) => valueMatch(VALUES, value, undefined, now)))));
  }
  const alternatives = criterion.values.map((value) => {
    if ('prefix' in value && value.prefix === 'ne') {
      // `ne`: some value, and none equal.
      return and([valueOf(), not(valueOf(valueMatch(VALUES, { ...value, prefix: 'eq' }, criterion.modifier, now)))]);
    }
    return valueOf(valueMatch(VALUES, value, criterion.modifier, now));
  });
  return or(alternatives);
}

/** Field prefixes of a value: a top-level value, or a part of a composite one. */
type Scope = typeof VALUES | typeof PARTS;
const VALUES = 'values.';
const PARTS = 'values.parts.';

/** `matchesValue`: one nested value (at `scope`) against one search value. */
function valueMatch(scope: Scope, value: CriterionValue, modifier: Modifier | undefined, now: number): Query {
  const field = (name: string) => `${scope}${name}`;
  const ofType = (type: string, condition: Query) => and([term(field('type'), type), condition]);
  switch (value.kind) {
    case 'string':
      return stringMatch(field, value.value, modifier);
    case 'token':
      return tokenMatch(field, value, modifier);
    case 'identifier':
      return ofType('reference', systemAndCode(field('idSystem'), field('idValue'), value.system, value.value));
    case 'reference':
      return referenceMatch(field, value, modifier);
    case 'date':
      return ofType('date', dateComparison(field, value.prefix, value.start, value.end, now));
    case 'number':
      return ofType('number', numberComparison(field('num'), value.prefix, value));
    case 'quantity':
      return ofType('quantity', and([unitMatch(field, value), numberComparison(field('num'), value.prefix, value)]));
    case 'uri':
      return uriMatch(field, value.value, modifier);
    case 'composite':
      // Every component matched by a part of this same composite value.
      return ofType(
        'composite',
        and(value.components.map((component, index) => nested('values.parts', and([term(`${PARTS}component`, index), valueMatch(PARTS, component, undefined, now)])))),
      );
    case 'missing':
      return MATCH_NONE;
  }
}

type Field = (name: string) => string;

/** `matchesString`: prefix on the normalized form by default; `:exact` on the value as written; `:contains` anywhere; `:text` on a token's display. */
function stringMatch(field: Field, query: string, modifier: Modifier | undefined): Query {
  const normalized = normalizeString(query);
  const onString = modifier === 'exact' ? term(field('exact'), query) : modifier === 'contains' ? contains(field('normalized'), normalized) : startsWith(field('normalized'), normalized);
  return or([
    and([term(field('type'), 'string'), onString]),
    and([term(field('type'), 'uri'), term(field('uri'), query)]),
    ...(modifier === 'text' ? [and([term(field('type'), 'token'), startsWith(field('text'), normalized)])] : []),
  ]);
}

/** `matchesSystemValue`: `code` any system; `|code` no system; `system|` any code; `system|code` both. */
function systemAndCode(systemField: string, codeField: string, system: string | undefined, code: string | undefined): Query {
  return and([system === '' ? not(exists(systemField)) : system ? term(systemField, system) : undefined, code !== undefined ? term(codeField, code) : undefined]);
}

/** `matchesToken`. */
function tokenMatch(field: Field, value: Extract<CriterionValue, { kind: 'token' }>, modifier: Modifier | undefined): Query {
  const onToken =
    modifier === 'of-type'
      ? and([term(field('code'), value.value), term(field('identifierTypes'), identifierTypeKey(value.system ?? '', value.code ?? ''))])
      : systemAndCode(field('system'), field('code'), value.system, value.code);
  const alternatives = [and([term(field('type'), 'token'), onToken])];
  if (value.system === undefined && value.code !== undefined) {
    // A plain string or uri value compares by the code alone.
    alternatives.push(and([term(field('type'), 'string'), term(field('exact'), value.code)]), and([term(field('type'), 'uri'), term(field('uri'), value.code)]));
  }
  return or(alternatives);
}

/** `matchesReference`: by id (and type), or by URL (and version); a uri value by its URL. */
function referenceMatch(field: Field, value: Extract<CriterionValue, { kind: 'reference' }>, modifier: Modifier | undefined): Query {
  const targetType = typeof modifier === 'object' ? modifier.type : value.resourceType;
  let onReference: Query = MATCH_NONE;
  if (value.id !== undefined) {
    onReference = and([term(field('refId'), value.id), targetType !== undefined ? term(field('refType'), targetType) : undefined]);
  } else if (value.url !== undefined) {
    onReference =
      modifier === 'below' || modifier === 'above'
        ? uriCondition(field('uri'), value.url, modifier)
        : and([term(field('uri'), value.url), value.version !== undefined ? term(field('version'), value.version) : undefined]);
  }
  return or([
    and([term(field('type'), 'reference'), onReference]),
    ...(value.url !== undefined ? [and([term(field('type'), 'uri'), uriCondition(field('uri'), value.url, modifier)])] : []),
  ]);
}

/** `matchesUri`: a uri value, or a reference's URL. */
function uriMatch(field: Field, query: string, modifier: Modifier | undefined): Query {
  return and([terms(field('type'), ['uri', 'reference']), uriCondition(field('uri'), query, modifier)]);
}

function uriCondition(uriField: string, query: string, modifier: Modifier | undefined): Query {
  if (modifier === 'below') {
    return or([term(uriField, query), startsWith(uriField, query.endsWith('/') ? query : `${query}/`)]);
  }
  if (modifier === 'above') {
    return terms(uriField, urisAbove(query));
  }
  return term(uriField, query);
}

/**
 * Every stored URI that `:above=query` accepts: the query itself, and each of its prefixes ending
 * at a `/`, with and without that slash (`match.ts`: the query starts with the target plus `/`).
 */
export function urisAbove(query: string): string[] {
  const uris = new Set([query]);
  for (let index = query.indexOf('/'); index !== -1; index = query.indexOf('/', index + 1)) {
    uris.add(query.slice(0, index + 1));
    uris.add(query.slice(0, index));
  }
  return [...uris];
}

/** `matchesUnit`: `||code` accepts the code or the human unit. */
function unitMatch(field: Field, value: Extract<CriterionValue, { kind: 'quantity' }>): Query {
  if (value.code === undefined) {
    return MATCH_ALL;
  }
  if (value.system === undefined || value.system === '') {
    return or([term(field('code'), value.code), term(field('unit'), value.code)]);
  }
  return and([term(field('system'), value.system), term(field('code'), value.code)]);
}

/** `compareRanges` over a value's [start, end]. */
function dateComparison(field: Field, prefix: Prefix, searchStart: number, searchEnd: number, now: number): Query {
  const start = field('start');
  const end = field('end');
  const contains = and([range(start, 'gte', searchStart), range(end, 'lte', searchEnd)]);
  switch (prefix) {
    case 'eq':
      return contains;
    case 'ne':
      return not(contains);
    case 'gt':
      return range(end, 'gt', searchEnd);
    case 'lt':
      return range(start, 'lt', searchStart);
    case 'ge':
      return or([range(end, 'gt', searchEnd), contains]);
    case 'le':
      return or([range(start, 'lt', searchStart), contains]);
    case 'sa':
      return range(start, 'gt', searchEnd);
    case 'eb':
      return range(end, 'lt', searchStart);
    case 'ap': {
      const margin = Math.abs(now - searchStart) * 0.1;
      return and([range(start, 'lte', searchEnd + margin), range(end, 'gte', searchStart - margin)]);
    }
  }
}

/** `compareNumbers`: the value against the search value's implied range. */
function numberComparison(numField: string, prefix: Prefix, search: { value: number; low: number; high: number }): Query {
  const equal = and([range(numField, 'gte', search.low), range(numField, 'lt', search.high)]);
  switch (prefix) {
    case 'eq':
      return equal;
    case 'ne':
      return not(equal);
    case 'gt':
    case 'sa':
      return range(numField, 'gt', search.value);
    case 'lt':
    case 'eb':
      return range(numField, 'lt', search.value);
    case 'ge':
      return range(numField, 'gte', search.value);
    case 'le':
      return range(numField, 'lte', search.value);
    case 'ap':
      // |value - search| <= 10%, computed as match.ts computes it (a range on value ± margin can round differently).
      return {
        script: {
          script: {
            lang: 'painless',
            source: "def values = doc[params.field]; return values.size() > 0 && Math.abs(values.value - params.value) <= params.margin;",
            params: { field: numField, value: search.value, margin: Math.abs(search.value) * 0.1 },
          },
        },
      };
  }
}

// ---- order and paging --------------------------------------------------------------------

/** Where a sort rule's key lives: a top-level field, or a field of the parameter's nested values. */
interface SortTarget {
  readonly field: string;
  readonly param?: string;
  readonly kind: 'string' | 'number';
}

/** `sort.ts`'s `comparable`, as the field holding it; undefined when a rule has no key (composite): it never orders. */
function sortTarget(rule: SortRule): SortTarget | undefined {
  if (rule.param === '_id') {
    return { field: 'id', kind: 'string' };
  }
  if (rule.param === '_lastUpdated') {
    return { field: 'lastUpdated', kind: 'number' };
  }
  const param = rule.param.code;
  switch (rule.param.type) {
    case 'string':
      return { field: `${VALUES}normalized`, param, kind: 'string' };
    case 'token':
      return { field: `${VALUES}code`, param, kind: 'string' };
    case 'reference':
      return { field: `${VALUES}key`, param, kind: 'string' };
    case 'uri':
      return { field: `${VALUES}uri`, param, kind: 'string' };
    case 'date':
      return { field: `${VALUES}${rule.descending ? 'end' : 'start'}`, param, kind: 'number' };
    case 'number':
    case 'quantity':
      return { field: `${VALUES}num`, param, kind: 'number' };
    case 'composite':
    case 'special':
      return undefined;
  }
}

/**
 * The order of `sort.ts`: per rule the smallest value ascending, the largest descending, resources
 * without one last; `Type/id` last of all. `reverse` gives the exact opposite order (for pages
 * before a position), resources without a value then coming first.
 */
export function sortClauses(rules: readonly SortRule[], reverse = false): Query[] {
  const clauses: Query[] = [];
  for (const rule of rules) {
    const target = sortTarget(rule);
    if (!target) {
      continue;
    }
    const order = rule.descending !== reverse ? 'desc' : 'asc';
    const missing = reverse ? '_first' : '_last';
    const inValues = target.param === undefined ? {} : { mode: rule.descending ? 'max' : 'min', nested: { path: 'values', filter: term(`${VALUES}param`, target.param) } };
    clauses.push({ [target.field]: { order, missing, ...inValues } });
  }
  clauses.push({ ref: { order: reverse ? 'desc' : 'asc' } });
  return clauses;
}

/** Whether `position` could be a position under `rules` (one key part per rule, of the rule's kind); a forged cursor is not. */
export function isPosition(rules: readonly SortRule[], position: Position): boolean {
  return (
    position.key.length === rules.length &&
    rules.every((rule, index) => {
      const part = position.key[index];
      const target = sortTarget(rule);
      return part === null || (target !== undefined && typeof part === target.kind && (typeof part !== 'number' || Number.isFinite(part)));
    })
  );
}

/**
 * The resources strictly after (or before) `position` in the order of `rules`: lexicographic over
 * the rules, then `Type/id`. Each rule's key is a minimum or maximum over the resource's values,
 * so "key > c" is "no value ≤ c" (which also holds without values: those sort last), and
 * "key = c" is "a value = c and none below it".
 */
export function positionQuery(rules: readonly SortRule[], position: Position, side: 'after' | 'before'): Query {
  const alternatives: Query[] = [];
  const equalSoFar: Query[] = [];
  rules.forEach((rule, index) => {
    const target = sortTarget(rule);
    if (!target) {
      return;
    }
    const part = position.key[index] ?? null;
    alternatives.push(and([...equalSoFar, side === 'after' ? keyAfter(target, rule.descending, part) : keyBefore(target, rule.descending, part)]));
    equalSoFar.push(keyEqual(target, rule.descending, part));
  });
  alternatives.push(and([...equalSoFar, range('ref', side === 'after' ? 'gt' : 'lt', position.ref)]));
  return or(alternatives);
}

/** A resource having a value of the rule's key field meeting `condition`. */
function anyKeyValue(target: SortTarget, condition: Query): Query {
  return target.param === undefined ? condition : someValue(and([term(`${VALUES}param`, target.param), condition]));
}

function keyAfter(target: SortTarget, descending: boolean, part: SortKeyPart): Query {
  return part === null ? MATCH_NONE : not(anyKeyValue(target, range(target.field, descending ? 'gte' : 'lte', part)));
}

function keyBefore(target: SortTarget, descending: boolean, part: SortKeyPart): Query {
  return part === null ? anyKeyValue(target, exists(target.field)) : anyKeyValue(target, range(target.field, descending ? 'gt' : 'lt', part));
}

function keyEqual(target: SortTarget, descending: boolean, part: SortKeyPart): Query {
  if (part === null) {
    return not(anyKeyValue(target, exists(target.field)));
  }
  return and([anyKeyValue(target, term(target.field, part)), not(anyKeyValue(target, range(target.field, descending ? 'gt' : 'lt', part)))]);
}

// ---- DSL building blocks -----------------------------------------------------------------

const MATCH_ALL: Query = { match_all: {} };
const MATCH_NONE: Query = { match_none: {} };

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

function term(field: string, value: string | number | undefined): Query {
  // An absent value (only from a malformed query) equals no stored value.
  return value === undefined ? MATCH_NONE : { term: { [field]: value } };
}

function terms(field: string, values: readonly string[]): Query {
  return values.length === 0 ? MATCH_NONE : { terms: { [field]: values } };
}

function exists(field: string): Query {
  return { exists: { field } };
}

function range(field: string, operator: 'gt' | 'gte' | 'lt' | 'lte', value: string | number): Query {
  return { range: { [field]: { [operator]: value } } };
}

/** Keyword starts-with; every value starts with the empty string. */
function startsWith(field: string, prefix: string): Query {
  return prefix === '' ? exists(field) : { prefix: { [field]: { value: prefix } } };
}

/** Keyword contains, as a wildcard with the search text's own `*`, `?` and `\` escaped. */
function contains(field: string, text: string): Query {
  return text === '' ? exists(field) : { wildcard: { [field]: { value: `*${text.replace(/[\\*?]/g, '\\$&')}*` } } };
}

function nested(path: string, query: Query): Query {
  return query === MATCH_NONE ? MATCH_NONE : { nested: { path, query, score_mode: 'none' } };
}

/** A resource having some value meeting `condition`. */
function someValue(condition: Query): Query {
  return nested('values', condition);
}
