/**
 * The R4 search-parameter model: each parameter's definition (from the official R4
 * SearchParameters) and the normalized values extracted from a resource for it. Storage keys,
 * both search engines and the matcher read these; nothing here knows about queries.
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
