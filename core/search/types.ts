/**
 * A parsed search query: criteria, modifiers, prefixes, sort, includes and paging. Both engines
 * (DynamoDB and OpenSearch) consume these types and nothing engine-specific.
 */
import type { SearchParameterDefinition } from '../r4/search-types.js';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export type Modifier =
  | 'exact'
  | 'contains'
  | 'missing'
  | 'not'
  | 'text'
  | 'above'
  | 'below'
  | 'in'
  | 'not-in'
  | 'of-type'
  | 'identifier'
  /** `:[type]` on a reference: the target type. */
  | { readonly type: string };

/** One value of a criterion, parsed and validated for the parameter's type (OR-ed with its siblings). */
export type CriterionValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'token'; /** undefined: any system; '': no system (`|code`) */ readonly system?: string; readonly code?: string; /** `:of-type=system|code|value`: system|code are the Identifier.type coding's, this is Identifier.value */ readonly value?: string }
  | { readonly kind: 'reference'; readonly resourceType?: string; readonly id?: string; readonly url?: string; readonly version?: string }
  | { readonly kind: 'identifier'; readonly system?: string; readonly value?: string }
  | { readonly kind: 'date'; readonly prefix: Prefix; readonly start: number; readonly end: number }
  | { readonly kind: 'number'; readonly prefix: Prefix; readonly value: number; readonly low: number; readonly high: number }
  | { readonly kind: 'quantity'; readonly prefix: Prefix; readonly value: number; readonly low: number; readonly high: number; readonly system?: string; readonly code?: string }
  | { readonly kind: 'uri'; readonly value: string }
  | { readonly kind: 'missing'; readonly missing: boolean }
  | { readonly kind: 'composite'; readonly components: readonly CriterionValue[] };

/** `subject:Patient.name=peter`: each link follows a reference parameter to a target type. */
export interface ChainLink {
  readonly param: string;
  readonly targetType: string;
}

/** One search criterion: parameter (through an optional chain), modifier, OR-ed values. */
export interface Criterion {
  /** The query parameter as written, for error messages and the `self` link. */
  readonly name: string;
  /** Reference parameters to follow first, outermost first. */
  readonly chain: readonly ChainLink[];
  /** The parameter evaluated at the end of the chain (on `resourceType` when the chain is empty). */
  readonly param: SearchParameterDefinition;
  readonly resourceType: string;
  readonly modifier?: Modifier;
  readonly values: readonly CriterionValue[];
}

/** `_has:Observation:patient:code=1234-5`: resources referenced by some matching `type` through `param`. */
export interface HasCriterion {
  readonly name: string;
  readonly resourceType: string;
  readonly referenceParam: string;
  /** The inner criterion on `resourceType` (itself possibly another `_has`). */
  readonly inner: SearchCriterion;
}

/**
 * One parameter that stands for several criteria, OR-ed: a chain through a reference with several
 * target types (`subject.name` follows Patient.name, Group.name, …), or a system search over several
 * types (one criterion per type, each with that type's expression). A Criterion only ever matches
 * resources of its own `resourceType`.
 */
export interface AnyOfCriterion {
  readonly name: string;
  readonly anyOf: readonly Criterion[];
}

export type SearchCriterion = Criterion | HasCriterion | AnyOfCriterion;

export interface SortRule {
  readonly param: SearchParameterDefinition | '_id' | '_lastUpdated';
  readonly descending: boolean;
}

export interface IncludeRule {
  /** The type whose reference parameter is followed (`_include=Observation:patient`). */
  readonly sourceType: string;
  /** undefined for `*`: every reference parameter. */
  readonly param?: string;
  readonly targetType?: string;
  readonly iterate: boolean;
}

export interface SearchQuery {
  /** The types searched: one for type search, several or all for system search (`_type`). */
  readonly resourceTypes: readonly string[];
  /** AND-ed criteria, `_id`/`_lastUpdated`/`_tag`/… included as ordinary parameters. */
  readonly criteria: readonly SearchCriterion[];
  /** Compartment search `Patient/123/Observation`: the compartment's patient id. */
  readonly compartment?: { readonly resourceType: 'Patient'; readonly id: string };
  readonly sort: readonly SortRule[];
  readonly count: number;
  readonly cursor?: string;
  readonly total: 'none' | 'estimate' | 'accurate';
  readonly summary?: 'true' | 'count' | 'data' | 'text';
  readonly elements?: readonly string[];
  readonly include: readonly IncludeRule[];
  readonly revinclude: readonly IncludeRule[];
  /** Parameters ignored under lenient handling, each with the reason, for the OperationOutcome entry. */
  readonly ignored: readonly { readonly name: string; readonly reason: string }[];
}
