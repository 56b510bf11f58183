/**
 * Keyset paging in DSL, with the order of `sort.ts`: sort clauses, and the resources strictly
 * after (or before) a page cursor's position (page-cursor.ts), so the next page is the first
 * `_count` resources past the previous one, whatever was added or removed elsewhere in the order.
 */
import type { Position } from '../page-cursor.js';
import type { SortKeyPart } from '../sort.js';
import type { SortRule } from '../types.js';
import { and, exists, MATCH_NONE, not, or, type Query, range, someValue, term, VALUES } from './dsl.js';

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

