/**
 * Exact, in-process evaluation of search criteria against one resource (R4 search.html). The
 * DynamoDB engine narrows candidates with an index, then decides every criterion here; the
 * OpenSearch engine must give the same answers.
 *
 * Chains and `_has` are resolved by the engine before matching: it searches the inner query
 * first and hands the matcher the set of `Type/id` it found (`ResolvedReferences`).
 */
import type { Resource } from '@medplum/fhirtypes';
import { extractValues, referencedKeys } from '../r4/extract.js';
import { normalizeString } from '../r4/precision.js';
import type { Criterion, CriterionValue, Modifier, Prefix } from './types.js';
import type { IndexValue, SearchParameterDefinition } from '../r4/search-types.js';

/**
 * A criterion ready to match: a plain one, or one whose chain or `_has` the engine resolved to
 * the `Type/id` set it may point at.
 */
export type ResolvedCriterion =
  | { readonly kind: 'criterion'; readonly criterion: Criterion }
  /** Chain, compartment, `_revinclude`: some value of one of `params` points at one of `references`. */
  | { readonly kind: 'references'; readonly params: readonly SearchParameterDefinition[]; readonly references: ReadonlySet<string> }
  /** `_has`: the resource itself is one of `references`. */
  | { readonly kind: 'self'; readonly references: ReadonlySet<string> }
  /** Several alternatives of one parameter (multi-target chains, system search): any may match. */
  | { readonly kind: 'any'; readonly of: readonly ResolvedCriterion[] };

export function matchesAll(resource: Resource, criteria: readonly ResolvedCriterion[]): boolean {
  return criteria.every((resolved) => matchesResolved(resource, resolved));
}

function matchesResolved(resource: Resource, resolved: ResolvedCriterion): boolean {
  switch (resolved.kind) {
    case 'criterion':
      return matchesCriterion(resource, resolved.criterion);
    case 'references':
      return resolved.params.some((param) => referencedKeys(resource, param).some((key) => resolved.references.has(key)));
    case 'self':
      return resolved.references.has(`${resource.resourceType}/${resource.id}`);
    case 'any':
      return resolved.of.some((alternative) => matchesResolved(resource, alternative));
  }
}

export function matchesCriterion(resource: Resource, criterion: Criterion): boolean {
  const values = extractValues(resource, criterion.param);
  if (criterion.modifier === 'missing') {
    const wanted = criterion.values.some((v) => v.kind === 'missing' && v.missing);
    return wanted === (values.length === 0);
  }
  if (criterion.modifier === 'not') {
    // R4: :not matches resources where no value matches, including those without a value.
    return !criterion.values.some((value) => values.some((indexed) => matchesValue(indexed, value, undefined)));
  }
  return criterion.values.some((value) => matchesCriterionValue(values, value, criterion.modifier));
}

/** `ne` is "no value equals", like :not, so it is decided over all values at once. */
function matchesCriterionValue(values: readonly IndexValue[], value: CriterionValue, modifier: Modifier | undefined): boolean {
  if ('prefix' in value && value.prefix === 'ne') {
    const equal = { ...value, prefix: 'eq' as const };
    return values.length > 0 && !values.some((indexed) => matchesValue(indexed, equal, modifier));
  }
  return values.some((indexed) => matchesValue(indexed, value, modifier));
}

function matchesValue(indexed: IndexValue, value: CriterionValue, modifier: Modifier | undefined): boolean {
  switch (value.kind) {
    case 'string':
      return matchesString(indexed, value.value, modifier);
    case 'token':
      return matchesToken(indexed, value, modifier);
    case 'identifier':
      return indexed.type === 'reference' && matchesSystemValue(indexed.identifier?.system, indexed.identifier?.value, value.system, value.value);
    case 'reference':
      return matchesReference(indexed, value, modifier);
    case 'date':
      return indexed.type === 'date' && compareRanges(value.prefix, indexed.start, indexed.end, value.start, value.end);
    case 'number':
      return indexed.type === 'number' && compareNumbers(value.prefix, indexed.value, value);
    case 'quantity':
      return indexed.type === 'quantity' && matchesUnit(indexed, value) && compareNumbers(value.prefix, indexed.value, value);
    case 'uri':
      return matchesUri(indexed, value.value, modifier);
    case 'composite':
      return indexed.type === 'composite' && value.components.every((component, i) => (indexed.components[i] ?? []).some((part) => matchesValue(part, component, undefined)));
    case 'missing':
      return false;
  }
}

function matchesString(indexed: IndexValue, query: string, modifier: Modifier | undefined): boolean {
  if (indexed.type === 'token') {
    // :text on a token searches its display text, string-style.
    return modifier === 'text' && indexed.text !== undefined && indexed.text.startsWith(normalizeString(query));
  }
  if (indexed.type !== 'string') {
    return indexed.type === 'uri' && indexed.value === query;
  }
  if (modifier === 'exact') {
    return indexed.value === query;
  }
  const normalized = normalizeString(query);
  return modifier === 'contains' ? indexed.normalized.includes(normalized) : indexed.normalized.startsWith(normalized);
}

function matchesSystemValue(system: string | undefined, code: string | undefined, querySystem: string | undefined, queryCode: string | undefined): boolean {
  // `code`: any system; `|code`: no system; `system|`: any code of the system; `system|code`: both.
  if (querySystem === '' && system !== undefined) {
    return false;
  }
  if (querySystem && system !== querySystem) {
    return false;
  }
  return queryCode === undefined || code === queryCode;
}

function matchesToken(indexed: IndexValue, value: Extract<CriterionValue, { kind: 'token' }>, modifier: Modifier | undefined): boolean {
  if (indexed.type === 'string' || indexed.type === 'uri') {
    // A token over a plain string/uri element (e.g. Patient.gender-like ids) compares the code only.
    return value.system === undefined && indexed.value === value.code;
  }
  if (indexed.type !== 'token') {
    return false;
  }
  if (modifier === 'of-type') {
    // `:of-type=system|code|value`: an Identifier whose type has that coding, with that value.
    return indexed.code === value.value && (indexed.identifierType ?? []).some((type) => type.system === value.system && type.code === value.code);
  }
  return matchesSystemValue(indexed.system, indexed.code, value.system, value.code);
}

function matchesReference(indexed: IndexValue, value: Extract<CriterionValue, { kind: 'reference' }>, modifier: Modifier | undefined): boolean {
  if (indexed.type === 'uri') {
    return value.url !== undefined && matchesUri(indexed, value.url, modifier);
  }
  if (indexed.type !== 'reference') {
    return false;
  }
  const targetType = typeof modifier === 'object' ? modifier.type : value.resourceType;
  if (value.id !== undefined) {
    return indexed.id === value.id && (targetType === undefined || indexed.resourceType === targetType);
  }
  if (value.url !== undefined) {
    if (modifier === 'below' || modifier === 'above') {
      return indexed.url !== undefined && matchesUri({ type: 'uri', value: indexed.url }, value.url, modifier);
    }
    return indexed.url === value.url && (value.version === undefined || indexed.version === value.version);
  }
  return false;
}

function matchesUri(indexed: IndexValue, query: string, modifier: Modifier | undefined): boolean {
  const target = indexed.type === 'uri' ? indexed.value : indexed.type === 'reference' ? indexed.url : undefined;
  if (target === undefined) {
    return false;
  }
  if (modifier === 'below') {
    return target === query || target.startsWith(query.endsWith('/') ? query : `${query}/`);
  }
  if (modifier === 'above') {
    return target === query || query.startsWith(target.endsWith('/') ? target : `${target}/`);
  }
  return target === query;
}

function matchesUnit(indexed: Extract<IndexValue, { type: 'quantity' }>, value: Extract<CriterionValue, { kind: 'quantity' }>): boolean {
  if (value.code === undefined) {
    return true;
  }
  if (value.system === undefined || value.system === '') {
    // `||code` matches the code or the human unit (R4 search.html#quantity).
    return indexed.code === value.code || indexed.unit === value.code;
  }
  return indexed.system === value.system && indexed.code === value.code;
}

/**
 * Date prefixes over ranges (R4 search.html#prefix): `target` is the resource's value range,
 * `search` the query value's range, both implied by precision.
 */
export function compareRanges(prefix: Prefix, targetStart: number, targetEnd: number, searchStart: number, searchEnd: number): boolean {
  const contains = targetStart >= searchStart && targetEnd <= searchEnd;
  switch (prefix) {
    case 'eq':
      return contains;
    case 'ne':
      return !contains;
    case 'gt':
      return targetEnd > searchEnd;
    case 'lt':
      return targetStart < searchStart;
    case 'ge':
      return targetEnd > searchEnd || contains;
    case 'le':
      return targetStart < searchStart || contains;
    case 'sa':
      return targetStart > searchEnd;
    case 'eb':
      return targetEnd < searchStart;
    case 'ap': {
      // Within 10% of the gap between now and the search value, on either side.
      const margin = Math.abs(Date.now() - searchStart) * 0.1;
      return targetStart <= searchEnd + margin && targetEnd >= searchStart - margin;
    }
  }
}

/** Number prefixes: the target's value against the search value's implied precision range. */
export function compareNumbers(prefix: Prefix, target: number, search: { value: number; low: number; high: number }): boolean {
  switch (prefix) {
    case 'eq':
      return target >= search.low && target < search.high;
    case 'ne':
      return !(target >= search.low && target < search.high);
    case 'gt':
    case 'sa':
      return target > search.value;
    case 'lt':
    case 'eb':
      return target < search.value;
    case 'ge':
      return target >= search.value;
    case 'le':
      return target <= search.value;
    case 'ap':
      return Math.abs(target - search.value) <= Math.abs(search.value) * 0.1;
  }
}
