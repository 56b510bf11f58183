/**
 * The search values of a resource for one parameter: the parameter's FHIRPath evaluated with
 * Medplum, each result normalized by its FHIR type as R4 search.html describes for the
 * parameter's type. Every search engine compares these values and nothing else, so a query means
 * the same on DynamoDB and on OpenSearch.
 */
import type { FhirPathAtom, TypedValue } from '@medplum/core';
import { evalFhirPathTyped, parseFhirPath, toTypedValue } from '@medplum/core';
import type { Address, CodeableConcept, Coding, ContactPoint, HumanName, Identifier, Money, Period, Quantity, Range, Reference, Resource, Timing } from '@medplum/fhirtypes';
import { isResourceType, loadResourceDefinitions } from './definitions.js';
import type { DecimalRange } from './precision.js';
import { dateRange, decimalRange, normalizeString } from './precision.js';
import type { IndexValue, SearchParameterDefinition, SearchParameterType } from './search-types.js';

type ValueOf<T extends IndexValue['type']> = Extract<IndexValue, { type: T }>;

const ISO_4217 = 'urn:iso:std:iso:4217';
/** `Type/id`, optionally after a base URL and before `/_history/vid` (R4 references.html#literal). */
const LITERAL_REFERENCE = /^(?:.*\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
/** FHIR integer types: exact, unlike decimals, whose written precision implies a range. */
const INTEGER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt']);

/** Values in the order FHIRPath returns them; empty when the resource has none. Throws only on an expression Medplum cannot evaluate. */
export function extractValues(resource: Resource, param: SearchParameterDefinition): IndexValue[] {
  loadResourceDefinitions(resource.resourceType);
  const root = toTypedValue(resource);
  // Some composite components read the resource itself (MolecularSequence: `%resource.referenceSeq.chromosome`).
  const variables: Variables = { '%resource': root, '%rootResource': root };
  const focus = evaluate(param.expression, root, variables);
  if (param.type === 'composite') {
    return focus.flatMap((value) => compositeValues(value, param.components ?? [], variables));
  }
  return focus.flatMap((value) => normalize(param.type, value));
}

// ---- FHIRPath ----

type Variables = Record<string, TypedValue>;

const compiledExpressions = new Map<string, FhirPathAtom>();

function evaluate(expression: string, focus: TypedValue, variables: Variables): TypedValue[] {
  let compiled = compiledExpressions.get(expression);
  if (!compiled) {
    compiled = parseFhirPath(withReferenceTypeTests(expression));
    compiledExpressions.set(expression, compiled);
  }
  return evalFhirPathTyped(compiled, [focus], variables);
}

/**
 * `x.where(resolve() is Patient)` asks for references to Patients. Medplum's resolve() reads the
 * type of a relative `Type/id` only; an index cannot fetch the target either, but it can read the
 * type from an absolute URL or from Reference.type, which is what this test does.
 */
function withReferenceTypeTests(expression: string): string {
  return expression.replace(
    /resolve\(\) is ([A-Za-z]+)/g,
    (_, type: string) => `(reference.matches('(^|/)${type}/[^/]+(/_history/[^/]+)?$') or type = '${type}')`,
  );
}

/**
 * Each component evaluated from the composite's value (an Observation, or one of its components
 * for the `combo-` parameters). A value that lacks a component is left out: a composite search
 * value names every component, so it could never match.
 */
function compositeValues(value: TypedValue, components: NonNullable<SearchParameterDefinition['components']>, variables: Variables): IndexValue[] {
  const componentValues = components.map((component) => evaluate(component.expression, value, variables).flatMap((componentValue) => normalize(component.type, componentValue)));
  return componentValues.every((values) => values.length) ? [{ type: 'composite', components: componentValues }] : [];
}

const NORMALIZERS: Record<Exclude<SearchParameterType, 'composite'>, (value: TypedValue) => IndexValue[]> = {
  string: stringValues,
  token: tokenValues,
  reference: referenceValues,
  date: dateValues,
  number: numberValues,
  quantity: quantityValues,
  uri: uriValues,
  // R4's one special parameter, Location `near`, is a geographic distance: no IndexValue form.
  special: () => [],
};

function normalize(type: SearchParameterType, value: TypedValue): IndexValue[] {
  return type === 'composite' ? [] : NORMALIZERS[type](value);
}

// ---- string: every part of a name or address is a value of its own (R4 search.html#string). ----

function stringValues({ type, value }: TypedValue): ValueOf<'string'>[] {
  if (type === 'HumanName') {
    const name = value as HumanName;
    return strings([name.family, ...(name.given ?? []), ...(name.prefix ?? []), ...(name.suffix ?? []), name.text]);
  }
  if (type === 'Address') {
    const address = value as Address;
    return strings([...(address.line ?? []), address.city, address.district, address.state, address.postalCode, address.country, address.text]);
  }
  return typeof value === 'string' ? strings([value]) : [];
}

function strings(texts: (string | undefined)[]): ValueOf<'string'>[] {
  return texts.filter((text): text is string => !!text).map((text) => ({ type: 'string', value: text, normalized: normalizeString(text) }));
}

// ---- token: system|code, with the text that :text searches (R4 search.html#token). ----

function tokenValues({ type, value }: TypedValue): ValueOf<'token'>[] {
  switch (type) {
    case 'Coding':
      return tokens([codingToken(value as Coding)]);
    case 'CodeableConcept':
      return conceptTokens(value as CodeableConcept);
    case 'Identifier':
      return tokens([identifierToken(value as Identifier)]);
    case 'ContactPoint': {
      const contactPoint = value as ContactPoint;
      return tokens([{ type: 'token', system: contactPoint.system, code: contactPoint.value }]);
    }
    default:
      // code, string, id, uri, boolean: the value is the code, and the system is implicit.
      return typeof value === 'string' || typeof value === 'boolean' ? [{ type: 'token', code: String(value) }] : [];
  }
}

/** One token per coding, and the concept's text as a token of its own unless a coding's display already says it. */
function conceptTokens(concept: CodeableConcept): ValueOf<'token'>[] {
  const codings = (concept.coding ?? []).map(codingToken);
  const text = textOf(concept.text);
  return tokens(codings.some((coding) => coding.text === text) ? codings : [...codings, { type: 'token', text }]);
}

function codingToken(coding: Coding): ValueOf<'token'> {
  return { type: 'token', system: coding.system, code: coding.code, text: textOf(coding.display) };
}

function identifierToken(identifier: Identifier): ValueOf<'token'> {
  const identifierType = identifier.type?.coding?.map(({ system, code }) => withoutUndefined({ system, code }));
  return { type: 'token', system: identifier.system, code: identifier.value, text: textOf(identifier.type?.text), identifierType };
}

function textOf(text: string | undefined): string | undefined {
  return text ? normalizeString(text) : undefined;
}

/** Drops the tokens that carry nothing to match (a Coding with only extensions, a CodeableConcept without text). */
function tokens(values: ValueOf<'token'>[]): ValueOf<'token'>[] {
  return values.map(withoutUndefined).filter((token) => token.system !== undefined || token.code !== undefined || token.text !== undefined);
}

// ---- reference: Type/id when it can be read, else the URL; identifiers; canonicals. ----

function referenceValues({ type, value }: TypedValue): ValueOf<'reference'>[] {
  if (type === 'Reference') {
    return referenceOf(value as Reference);
  }
  if (type === 'canonical') {
    const [url, version] = (value as string).split('|');
    return [withoutUndefined({ type: 'reference', url, version })];
  }
  if (typeof value === 'string') {
    return [{ type: 'reference', url: value }];
  }
  // A whole resource (Bundle `composition` and `message` are `Bundle.entry[0].resource`).
  const { resourceType, id } = value as Partial<Resource>;
  return resourceType && id ? [{ type: 'reference', resourceType, id }] : [];
}

function referenceOf(reference: Reference): ValueOf<'reference'>[] {
  const literal = reference.reference ? literalReference(reference.reference) : {};
  const identifier = reference.identifier && withoutUndefined({ system: reference.identifier.system, value: reference.identifier.value });
  const value = withoutUndefined<ValueOf<'reference'>>({ type: 'reference', resourceType: reference.type, ...literal, identifier });
  return Object.keys(value).length > 1 ? [value] : [];
}

/** `Patient/1`, `Patient/1/_history/2` and `https://other.org/fhir/Patient/1` all give Patient/1; the absolute URL is kept too. */
function literalReference(text: string): Pick<ValueOf<'reference'>, 'resourceType' | 'id' | 'url'> {
  const match = LITERAL_REFERENCE.exec(text);
  if (!match || !isResourceType(match[1])) {
    return { url: text };
  }
  const [, resourceType, id] = match;
  return text.startsWith(`${resourceType}/`) ? { resourceType, id } : { resourceType, id, url: text };
}

// ---- date: the instant range at the value's precision; Periods and Timings by their outer bounds. ----

function dateValues({ type, value }: TypedValue): ValueOf<'date'>[] {
  if (type === 'Period') {
    return periodValues(value as Period);
  }
  if (type === 'Timing') {
    return timingValues(value as Timing);
  }
  const range = typeof value === 'string' ? dateRange(value) : undefined;
  return range ? [{ type: 'date', ...range }] : [];
}

/** A missing start or end is open (R4 datatypes.html#Period: "the period is ongoing"). */
function periodValues(period: Period): ValueOf<'date'>[] {
  if (!period.start && !period.end) {
    return [];
  }
  const start = period.start ? dateRange(period.start)?.start : -Infinity;
  const end = period.end ? dateRange(period.end)?.end : Infinity;
  return start !== undefined && end !== undefined ? [{ type: 'date', start, end }] : [];
}

/** R4: "the specified scheduling details are ignored and only the outer limits matter". */
function timingValues(timing: Timing): ValueOf<'date'>[] {
  const bounds = [...(timing.event ?? []).flatMap((event) => dateValues({ type: 'dateTime', value: event })), ...periodValues(timing.repeat?.boundsPeriod ?? {})];
  if (!bounds.length) {
    return [];
  }
  return [{ type: 'date', start: Math.min(...bounds.map((bound) => bound.start)), end: Math.max(...bounds.map((bound) => bound.end)) }];
}

// ---- number and quantity: ranges implied by significant figures. ----

/**
 * JSON.parse has already turned `100.00` into 100, so a decimal's range is that of its shortest
 * form (`100` → [99.5, 100.5]): trailing zeros written in the resource are lost.
 */
function numberRange(type: string, value: number): DecimalRange | undefined {
  return INTEGER_TYPES.has(type) ? { value, low: value, high: value } : decimalRange(String(value));
}

/** RiskAssessment.prediction.probability[x] may be a Range as well as a decimal. */
function numberValues({ type, value }: TypedValue): ValueOf<'number'>[] {
  const range = type === 'Range' ? rangeBounds(value as Range) : typeof value === 'number' ? numberRange(type, value) : undefined;
  return range ? [{ type: 'number', ...range }] : [];
}

function quantityValues({ type, value }: TypedValue): ValueOf<'quantity'>[] {
  if (type === 'Range') {
    return rangeQuantity(value as Range);
  }
  if (type === 'Money') {
    const money = value as Money;
    return quantity(money.value, { system: ISO_4217, code: money.currency });
  }
  // Quantity and its profiles (Age, Duration, Distance, Count, SimpleQuantity); SampledData, which
  // R4 lists beside Quantity for value-quantity, has no single value and gives none.
  const { value: amount, system, code, unit } = value as Quantity;
  return quantity(amount, { system, code, unit });
}

function quantity(amount: number | undefined, units: Pick<ValueOf<'quantity'>, 'system' | 'code' | 'unit'>): ValueOf<'quantity'>[] {
  const range = typeof amount === 'number' ? numberRange('decimal', amount) : undefined;
  return range ? [withoutUndefined({ type: 'quantity', ...range, ...units })] : [];
}

function rangeQuantity(range: Range): ValueOf<'quantity'>[] {
  const bounds = rangeBounds(range);
  const units = range.low?.value !== undefined ? range.low : range.high;
  return bounds ? [withoutUndefined({ type: 'quantity', ...bounds, system: units?.system, code: units?.code, unit: units?.unit })] : [];
}

/** A Range is the interval itself, open where low or high is missing; its value is the low end (the high one when open below). */
function rangeBounds({ low, high }: Range): DecimalRange | undefined {
  const value = low?.value ?? high?.value;
  return value === undefined ? undefined : { value, low: low?.value ?? -Infinity, high: high?.value ?? Infinity };
}

// ---- uri ----

function uriValues({ value }: TypedValue): ValueOf<'uri'>[] {
  return typeof value === 'string' ? [{ type: 'uri', value }] : [];
}

/** Values go to DynamoDB and OpenSearch as they are: no keys that hold nothing. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** The `Type/id` (or URL) each reference value of `param` points at. */
export function referencedKeys(resource: Resource, param: SearchParameterDefinition): string[] {
  return extractValues(resource, param).flatMap((value) => (value.type === 'reference' ? [referenceKey(value)] : []));
}

/** A reference value as one key: `Type/id` when it names a resource, else its URL. */
export function referenceKey(value: Extract<IndexValue, { type: 'reference' }>): string {
  return value.resourceType && value.id ? `${value.resourceType}/${value.id}` : (value.url ?? '');
}
