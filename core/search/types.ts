/**
 * The vocabulary shared by every part of search: parameter definitions (from the official R4
 * SearchParameters), the normalized values extracted from resources, and a parsed query. Both
 * engines (DynamoDB now, OpenSearch later) consume these types and nothing engine-specific.
 */

export type SearchParameterType = 'string' | 'token' | 'reference' | 'date' | 'number' | 'quantity' | 'uri' | 'composite' | 'special';

/** One R4 SearchParameter as it applies to one resource type. */
export interface SearchParameterDefinition {
  readonly code: string;
  readonly type: SearchParameterType;
  /** FHIRPath selecting the values, narrowed to this resource type (the `A | B | C` union split). */
  readonly expression: string;
  /** Resource types a reference parameter may point to. */
  readonly targets?: readonly string[];
  /** Composite parameters: each component's parameter code and FHIRPath relative to the composite's value. */
  readonly components?: readonly { readonly code: string; readonly type: SearchParameterType; readonly expression: string }[];
}

/**
 * A value extracted from a resource for one parameter, normalized for comparison. Ranges are
 * inclusive epoch milliseconds (dates) or numbers (number, quantity) implied by the value's
 * precision (R4 search.html#prefix): `1974-12` is [1974-12-01T00:00:00.000, 1974-12-31T23:59:59.999],
 * `100` is [99.5, 100.5]. Open ends are ±Infinity.
 */
export type IndexValue =
  | { readonly type: 'string'; readonly value: string; /** lower case, accents removed, white space folded */ readonly normalized: string }
  | { readonly type: 'token'; readonly system?: string; readonly code?: string; /** Coding.display / CodeableConcept.text / Identifier.type.text, normalized like strings */ readonly text?: string; /** Identifier.type codings, for :of-type */ readonly identifierType?: readonly { readonly system?: string; readonly code?: string }[] }
  | { readonly type: 'reference'; /** `Type/id` for relative or resolvable absolute references */ readonly resourceType?: string; readonly id?: string; /** absolute URL, canonical or urn, as written (version stripped into `version`) */ readonly url?: string; readonly version?: string; readonly identifier?: { readonly system?: string; readonly value?: string } }
  | { readonly type: 'date'; readonly start: number; readonly end: number }
  | { readonly type: 'number'; readonly value: number; readonly low: number; readonly high: number }
  | { readonly type: 'quantity'; readonly value: number; readonly low: number; readonly high: number; readonly system?: string; readonly code?: string; readonly unit?: string }
  | { readonly type: 'uri'; readonly value: string }
  | { readonly type: 'composite'; /** one entry per component, in the definition's order: that component's values */ readonly components: readonly (readonly IndexValue[])[] };

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
