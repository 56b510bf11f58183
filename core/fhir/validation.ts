/**
 * Validation of every write: Medplum's validator (structure, cardinality, primitive formats,
 * invariants) against the R4 StructureDefinitions, plus the required terminology bindings, which
 * Medplum's validator does not check (it accepts Patient.gender "mail").
 */
import { evalFhirPath, OperationOutcomeError, validateResource as validateStructure } from '@medplum/core';
import type { TypedValueWithPath } from '@medplum/core';
import type { CodeableConcept, Coding, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../errors.js';
import { dateRange } from '../r4/precision.js';
import type { RequiredValueSet } from '../r4/definitions.js';
import { requiredValueSet } from '../r4/definitions.js';
import { resourceInputIssues, withTypeSelections } from './input-gate.js';

/** Values bound to a required ValueSet, collected by Medplum's validator: ValueSet URL → values. */
type BoundValues = Record<string, TypedValueWithPath[]>;

/** Up to this many allowed codes are listed in an issue; larger sets are only named. */
const LISTED_CODES_MAX = 12;

/**
 * The errors in `resource`; none means valid. The input gate's rules (R4 json.html, contained
 * resources, depth) come first: a body that breaks them is not handed to Medplum, whose walk is
 * recursive and whose element lookups are not limited to own properties. Medplum's warnings are dropped: its reference-type
 * warning misreads every absolute reference (`urn:uuid:…`, `http://…`) as a wrong resource type,
 * so on Synthea data it is mostly noise.
 */
export function validateResource(resource: unknown): OperationOutcomeIssue[] {
  const inputIssues = resourceInputIssues(resource);
  if (inputIssues.length) {
    return inputIssues;
  }
  const valid = resource as Resource;
  const boundValues: BoundValues = {};
  const structureErrors = validateWithMedplum(valid, boundValues).filter((found) => isError(found) && !isMedplumFalsePositive(valid, found));
  return [...structureErrors, ...bindingIssues(boundValues)].map((found) => withChoiceTypes(found, valid));
}

/** Throws a 400 `FhirError` carrying every error. */
export function assertValidResource(resource: unknown): asserts resource is Resource {
  const issues = validateResource(resource);
  if (issues.length) {
    throw FhirError.invalidResource(issues);
  }
}

function isError(outcomeIssue: OperationOutcomeIssue): boolean {
  return outcomeIssue.severity === 'error' || outcomeIssue.severity === 'fatal';
}

const BASE64_DIGITS = /^[0-9a-zA-Z+/]*={0,2}$/;

/** Issues Medplum raises on valid R4, each recognized by its text and re-decided correctly here. */
const MEDPLUM_FALSE_POSITIVES: { readonly text: RegExp; readonly validAfterAll: (value: unknown) => boolean }[] = [
  // Medplum rejects base64 with spaces or line breaks, which R4's pattern,
  // (\s*([0-9a-zA-Z\+\=]){4}\s*)+, allows (official examples such as Binary-example have them);
  // checked here without that backtracking-prone regex.
  { text: /^Invalid base64Binary format$/, validAfterAll: isSpacedBase64 },
  // Medplum compares dateTimes as text, so a Period across a daylight-saving change
  // (start 01:52-04:00, end 01:07-05:00, i.e. 05:52Z to 06:07Z) fails per-1; compared as instants.
  { text: /^Constraint per-1 not met/, validAfterAll: isOrderedPeriod },
];

function isMedplumFalsePositive(resource: Resource, found: OperationOutcomeIssue): boolean {
  const expression = found.expression?.[0];
  const rule = MEDPLUM_FALSE_POSITIVES.find((candidate) => candidate.text.test(found.details?.text ?? ''));
  if (!rule || !expression) {
    return false;
  }
  const values = evalFhirPath(expression, resource);
  return values.length === 1 && rule.validAfterAll(values[0]);
}

function isSpacedBase64(value: unknown): boolean {
  if (typeof value !== 'string') {
    return false;
  }
  const digits = value.replace(/\s+/g, '');
  return digits.length % 4 === 0 && BASE64_DIGITS.test(digits);
}

/** per-1: the start's earliest instant is not after the end's latest (each at its precision). */
function isOrderedPeriod(value: unknown): boolean {
  const { start, end } = (value ?? {}) as { start?: unknown; end?: unknown };
  const startRange = typeof start === 'string' ? dateRange(start) : undefined;
  const endRange = typeof end === 'string' ? dateRange(end) : undefined;
  return startRange !== undefined && endRange !== undefined && startRange.start <= endRange.end;
}

/** Choice elements in the validator's expressions as FHIRPath type selections (`value.ofType(boolean)`). */
function withChoiceTypes(found: OperationOutcomeIssue, resource: Resource): OperationOutcomeIssue {
  return found.expression ? { ...found, expression: found.expression.map((expression) => withTypeSelections(expression, resource as unknown as Record<string, unknown>)) } : found;
}

/**
 * Medplum's validator returns warnings only, and throws an `OperationOutcomeError` holding all
 * issues, warnings included, when there is an error. Any other exception comes from input it
 * cannot even walk (say `"_gender": "x"`), which is the client's error too.
 */
function validateWithMedplum(resource: Resource, boundValues: BoundValues): OperationOutcomeIssue[] {
  try {
    return validateStructure(resource, { collect: { tokens: boundValues } });
  } catch (error) {
    if (error instanceof OperationOutcomeError) {
      return error.outcome.issue ?? [];
    }
    return [issue('structure', `Invalid resource: ${(error as Error).message}`, resource.resourceType)];
  }
}

function bindingIssues(boundValues: BoundValues): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  for (const [url, values] of Object.entries(boundValues)) {
    // Not expandable offline (see the build's binding report): not checked.
    const valueSet = requiredValueSet(url);
    if (!valueSet) {
      continue;
    }
    for (const value of values) {
      if (!isInValueSet(value, valueSet)) {
        issues.push(issue('code-invalid', bindingMessage(value, url, valueSet), value.path));
      }
    }
  }
  return issues;
}

/**
 * R4 core binds required ValueSets to `code` and `CodeableConcept` elements only. A code must be
 * one of the set's codes; a CodeableConcept needs at least one Coding from the set (others may be
 * translations), so text alone does not satisfy a required binding. A primitive with only
 * extensions (say data-absent-reason) has no code to check.
 */
function isInValueSet(value: TypedValueWithPath, valueSet: RequiredValueSet): boolean {
  if (value.type === 'CodeableConcept') {
    return ((value.value as CodeableConcept).coding ?? []).some((coding) => isCodingInValueSet(coding, valueSet));
  }
  const code = primitiveValue(value);
  return code === undefined || valueSet.codes.has(code);
}

/** A Coding without a system (which the spec discourages) is matched on its code alone. */
function isCodingInValueSet(coding: Coding, valueSet: RequiredValueSet): boolean {
  if (coding.code === undefined) {
    return false;
  }
  return coding.system === undefined ? valueSet.codes.has(coding.code) : valueSet.codings.has(`${coding.system}|${coding.code}`);
}

/** Medplum hands a primitive that has extensions (`_status`) over as a `String` object. */
function primitiveValue(value: TypedValueWithPath): string | undefined {
  const primitive: unknown = value.value?.valueOf();
  return typeof primitive === 'string' ? primitive : undefined;
}

function bindingMessage(value: TypedValueWithPath, url: string, valueSet: RequiredValueSet): string {
  if (value.type === 'CodeableConcept') {
    const codings = ((value.value as CodeableConcept).coding ?? []).map(codingText).join(', ');
    return `No coding from the required value set ${url}${allowed(valueSet.codings)}; got ${codings || 'no coding'}`;
  }
  return `Code "${primitiveValue(value)}" is not in the required value set ${url}${allowed(valueSet.codes)}`;
}

function codingText(coding: Coding): string {
  return `"${coding.system ?? ''}|${coding.code ?? ''}"`;
}

/** Lists small sets only: the ValueSet URL already names the large ones. */
function allowed(values: ReadonlySet<string>): string {
  return values.size <= LISTED_CODES_MAX ? `: expected one of ${[...values].join(' | ')}` : '';
}
