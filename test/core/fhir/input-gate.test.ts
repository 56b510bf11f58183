/**
 * The input gate, rule by rule, each row taken from the R4 text it enforces (json.html, the
 * DomainResource invariants dom-2 … dom-5, datatypes.html#string) rather than from the gate's
 * own output: the input, and the FHIRPath of the element at fault.
 */
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../../core/errors.js';
import { assertWellFormedJson, MAX_JSON_DEPTH, resourceInputIssues } from '../../../core/fhir/input-gate.js';
import { validateResource } from '../../../core/fhir/validation.js';

interface Rule {
  /** The rule as R4 states it. */
  readonly rule: string;
  readonly resource: unknown;
  /** The expression of each issue, in order. */
  readonly at: string[];
}

const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
const referencedOrganization = { managingOrganization: { reference: '#o' } };

const REFUSED: Rule[] = [
  // json.html: "resources and datatypes ... SHALL NOT" have properties other than their elements; names are case-sensitive own properties.
  { rule: 'an element R4 does not define', resource: { resourceType: 'Patient', notAnElement: 1 }, at: ['Patient.notAnElement'] },
  ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'].map((name) => ({
    rule: `"${name}", named like an Object.prototype member, is an element R4 does not define`,
    resource: JSON.parse(`{"resourceType":"Patient","meta":{"${name}":"x"},"${name}":{}}`),
    at: [`Patient.${name}`, `Patient.meta.${name}`],
  })),
  { rule: 'Active (case differs) is not active', resource: { resourceType: 'Patient', Active: true }, at: ['Patient.Active'] },
  // json.html: empty objects and arrays are not allowed; an element without content is left out.
  { rule: 'an empty array', resource: { resourceType: 'Patient', name: [] }, at: ['Patient.name'] },
  { rule: 'an empty object in an array', resource: { resourceType: 'Patient', name: [{}] }, at: ['Patient.name[0]'] },
  { rule: 'an empty object as a single value', resource: { resourceType: 'Patient', meta: {} }, at: ['Patient.meta'] },
  // json.html: null is not a value; it only aligns a repeating primitive with its _x array.
  { rule: 'null as an element value', resource: { resourceType: 'Patient', active: null }, at: ['Patient.active'] },
  { rule: 'null in an array of objects', resource: { resourceType: 'Patient', name: [null] }, at: ['Patient.name[0]'] },
  { rule: 'null in a primitive array without _x', resource: { resourceType: 'Patient', name: [{ given: ['a', null] }] }, at: ['Patient.name[0].given[1]'] },
  { rule: 'null in both a primitive array and its _x', resource: { resourceType: 'Patient', name: [{ given: ['a', null], _given: [{ id: 'g' }, null] }] }, at: ['Patient.name[0].given[1]'] },
  { rule: 'null in _x without values', resource: { resourceType: 'Patient', name: [{ _given: [null] }] }, at: ['Patient.name[0].given[0]'] },
  // datatypes.html#string: a string has at least one character (regex [ \r\n\t\S]+).
  { rule: 'an empty string', resource: { resourceType: 'Patient', gender: '' }, at: ['Patient.gender'] },
  // json.html: repeating elements are arrays, even of one; single elements are never arrays.
  { rule: 'an object for a repeating element', resource: { resourceType: 'Patient', name: { family: 'x' } }, at: ['Patient.name'] },
  { rule: 'an array for a single code', resource: { resourceType: 'Patient', gender: [] }, at: ['Patient.gender'] },
  { rule: 'an array for a single object', resource: { resourceType: 'Patient', maritalStatus: [{ text: 'x' }] }, at: ['Patient.maritalStatus'] },
  // json.html: primitives are JSON strings, numbers or booleans; datatypes are objects.
  { rule: 'an object for a boolean', resource: { resourceType: 'Patient', active: {} }, at: ['Patient.active'] },
  { rule: 'an object for a date', resource: { resourceType: 'Patient', birthDate: { value: '2000' } }, at: ['Patient.birthDate'] },
  { rule: 'a string for a CodeableConcept', resource: { resourceType: 'Patient', maritalStatus: 'M' }, at: ['Patient.maritalStatus'] },
  { rule: 'a number in an array of HumanNames', resource: { resourceType: 'Patient', name: [1] }, at: ['Patient.name[0]'] },
  // json.html#primitive: _x holds the id and extensions: an object, or an array aligned with x's.
  { rule: '_x as a string', resource: { resourceType: 'Patient', gender: 'male', _gender: 'x' }, at: ['Patient.gender'] },
  { rule: '_x as an array for a single primitive', resource: { resourceType: 'Patient', gender: 'male', _gender: [{ id: 'a' }] }, at: ['Patient.gender'] },
  { rule: '_x as an object for a repeating primitive', resource: { resourceType: 'Patient', name: [{ given: ['a'], _given: { id: 'g' } }] }, at: ['Patient.name[0].given'] },
  { rule: '_x shorter than x', resource: { resourceType: 'Patient', name: [{ given: ['a', 'b'], _given: [{ id: 'g' }] }] }, at: ['Patient.name[0].given'] },
  { rule: '_x for a non-primitive', resource: { resourceType: 'Patient', _name: [{ id: 'n' }] }, at: ['Patient._name'] },
  { rule: 'an unknown element inside _x', resource: { resourceType: 'Patient', gender: 'male', _gender: { value: 'x' } }, at: ['Patient.gender.value'] },
  // Choice elements: valueBoolean is value of type boolean (FHIRPath ofType()).
  { rule: 'an empty string in a choice element', resource: { ...observation, valueString: '' }, at: ['Observation.value.ofType(string)'] },
  { rule: 'an array in a choice element', resource: { ...observation, valueQuantity: [{ value: 1 }] }, at: ['Observation.value.ofType(Quantity)'] },
  { rule: 'a choice type the element does not allow', resource: { ...observation, valueUri: 'http://x' }, at: ['Observation.valueUri'] },
  // Resources inside resources are checked as resources.
  { rule: 'an unknown element in a Bundle entry resource', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', constructor: 1 } }] }, at: ['Bundle.entry[0].resource.constructor'] },
  { rule: 'an unknown resource type inside', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Unicorn' } }] }, at: ['Bundle.entry[0].resource'] },
  // Contained resources: an id (references.html#contained), unique, dom-2 … dom-5.
  { rule: 'a contained resource without id', resource: { resourceType: 'Patient', managingOrganization: { reference: '#' }, contained: [{ resourceType: 'Organization', name: 'x' }] }, at: ['Patient.contained[0]'] },
  {
    rule: 'two contained resources with one id',
    resource: { resourceType: 'Patient', ...referencedOrganization, contained: [{ resourceType: 'Organization', id: 'o', name: 'a' }, { resourceType: 'Organization', id: 'o', name: 'b' }] },
    at: ['Patient.contained[1].id'],
  },
  {
    rule: 'dom-2: a contained resource with contained resources',
    resource: { resourceType: 'Patient', ...referencedOrganization, contained: [{ resourceType: 'Organization', id: 'o', partOf: { reference: '#p' }, contained: [{ resourceType: 'Organization', id: 'p' }] }] },
    at: ['Patient.contained[0].contained'],
  },
  { rule: 'dom-3: a contained resource nothing refers to', resource: { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'x' }] }, at: ['Patient.contained[0]'] },
  {
    rule: 'dom-4: a contained resource with meta.versionId and meta.lastUpdated',
    resource: { resourceType: 'Patient', ...referencedOrganization, contained: [{ resourceType: 'Organization', id: 'o', meta: { versionId: '1', lastUpdated: '2020-01-01T00:00:00Z' } }] },
    at: ['Patient.contained[0].meta.versionId', 'Patient.contained[0].meta.lastUpdated'],
  },
  {
    rule: 'dom-5: a contained resource with a security label',
    resource: { resourceType: 'Patient', ...referencedOrganization, contained: [{ resourceType: 'Organization', id: 'o', meta: { security: [{ code: 'R' }] } }] },
    at: ['Patient.contained[0].meta.security'],
  },
  // Strings are Unicode characters: a lone surrogate is none.
  { rule: 'a lone high surrogate', resource: JSON.parse('{"resourceType":"Patient","name":[{"family":"a\\ud800"}]}'), at: ['Patient.name[0].family'] },
  { rule: 'a lone low surrogate in a key', resource: JSON.parse('{"resourceType":"Patient","meta":{"\\udc00":1}}'), at: ['Patient.meta'] },
];

const ACCEPTED: Rule[] = [
  { rule: 'null aligning a value-less place with its extension', resource: { resourceType: 'Patient', name: [{ given: ['a', null], _given: [null, { extension: [{ url: 'http://x', valueString: 'y' }] }] }] }, at: [] },
  { rule: '_x without a value', resource: { resourceType: 'Patient', _gender: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] } }, at: [] },
  { rule: 'a contained resource referring to its container', resource: { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', endpoint: [{ reference: '#' }] }] }, at: [] },
  { rule: 'a contained resource referred to from another contained one', resource: { resourceType: 'Patient', ...referencedOrganization, contained: [{ resourceType: 'Organization', id: 'o', partOf: { reference: '#p' } }, { resourceType: 'Organization', id: 'p' }] }, at: [] },
  { rule: 'a surrogate pair (an emoji)', resource: { resourceType: 'Patient', name: [{ family: 'a\u{1F600}' }] }, at: [] },
  { rule: `${MAX_JSON_DEPTH} levels of nesting`, resource: { resourceType: 'Patient', extension: nestedExtensions(MAX_JSON_DEPTH / 2 - 1) }, at: [] },
];

function nestedExtensions(levels: number): unknown[] {
  let extension: unknown[] = [{ url: 'http://x', valueString: 'leaf' }];
  for (let level = 1; level < levels; level++) {
    extension = [{ url: 'http://x', extension }];
  }
  return extension;
}

describe('the input gate', () => {
  it.each(REFUSED)('refuses $rule', ({ resource, at }) => {
    const issues = resourceInputIssues(resource);

    expect(issues.map((found) => found.expression?.[0])).toEqual(at);
    expect(issues.every((found) => found.severity === 'error')).toBe(true);
  });

  it.each(ACCEPTED)('accepts $rule', ({ resource }) => {
    expect(resourceInputIssues(resource)).toEqual([]);
    expect(validateResource(resource)).toEqual([]);
  });

  it(`refuses nesting past ${MAX_JSON_DEPTH} at the first place too deep, without overflowing the stack`, () => {
    const deep = { resourceType: 'Patient', extension: nestedExtensions(10_000) };

    const issues = validateResource(deep);

    expect(issues).toEqual([expect.objectContaining({ code: 'too-costly' })]);
    expect(issues[0].expression?.[0]).toMatch(/^Patient(\.extension\[0\]){50}$/);
  });

  it('checks any JSON body for depth and surrogates, naming the place under the given root', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 5_000; level++) {
      deep = [deep];
    }
    expect(() => assertWellFormedJson({ entry: deep }, 'Bundle')).toThrow(FhirError);
    expect(() => assertWellFormedJson(JSON.parse('[{"value":"\\udfff"}]'), '')).toThrow(/surrogate/);
    expect(() => assertWellFormedJson({ entry: [{ resource: { resourceType: 'Patient' } }] }, 'Bundle')).not.toThrow();
  });

  it('names choice elements with ofType() in the validator\'s own issues too', () => {
    const issues = validateResource({ ...observation, valueBoolean: 'yes', component: [{ code: { text: 'c' }, valueDateTime: '2020-13-45' }] });

    expect(issues.map((found) => found.expression?.[0]).sort()).toEqual(['Observation.component[0].value.ofType(dateTime)', 'Observation.value.ofType(boolean)']);
  });
});
