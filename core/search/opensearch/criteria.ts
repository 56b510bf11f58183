/**
 * Resolved search criteria as OpenSearch query DSL, with exactly the meaning `match.ts` gives
 * them: every function here mirrors one there, field by field over the nested values of
 * document.ts. Pure (no client), so each translation can be tested on its own.
 */
import type { ResolvedCriterion } from '../match.js';
import { normalizeString } from '../../r4/precision.js';
import type { Criterion, CriterionValue, Modifier, Prefix } from '../types.js';
import { identifierTypeKey } from './document.js';
import { and, contains, exists, MATCH_ALL, MATCH_NONE, nested, not, or, PARTS, type Query, range, type Scope, someValue, startsWith, term, terms, VALUES } from './dsl.js';

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
function resolvedQuery(resolved: ResolvedCriterion, now: number): Query {
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
function criterionQuery(criterion: Criterion, now: number): Query {
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

