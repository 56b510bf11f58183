/**
 * The search query parser against R4 search.html: each case is a query the specification writes
 * (or one built from its rules) and the meaning it gives it.
 */
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../../core/errors.js';
import { parseSearchQuery, type SearchInput, type SearchOptions } from '../../../core/search/parse.js';
import { dateRange } from '../../../core/r4/precision.js';
import type { Criterion, CriterionValue, SearchCriterion, SearchQuery } from '../../../core/search/types.js';

const OPTIONS: SearchOptions = { defaultCount: 20, maxCount: 100, strict: false };

type Query = Record<string, string | string[]>;

function parse(types: string | readonly string[], query: Query, options: Partial<SearchOptions> = {}, compartment?: SearchInput['compartment']): SearchQuery {
  const resourceTypes = typeof types === 'string' ? [types] : types;
  const values = Object.fromEntries(Object.entries(query).map(([name, value]) => [name, typeof value === 'string' ? [value] : value]));
  return parseSearchQuery({ resourceTypes, query: values, compartment }, { ...OPTIONS, ...options });
}

/** The one plain criterion a query parses to. */
function criterion(types: string | readonly string[], query: Query): Criterion {
  const { criteria } = parse(types, query);
  expect(criteria).toHaveLength(1);
  return plain(criteria[0]);
}

function plain(parsed: SearchCriterion): Criterion {
  if ('anyOf' in parsed || 'inner' in parsed) {
    throw new Error(`expected a plain criterion, got ${JSON.stringify(parsed)}`);
  }
  return parsed;
}

function values(type: string, name: string, value: string): readonly CriterionValue[] {
  return criterion(type, { [name]: value }).values;
}

function range(text: string): { start: number; end: number } {
  const parsed = dateRange(text);
  if (!parsed) {
    throw new Error(`bad test date ${text}`);
  }
  return parsed;
}

function failure(run: () => unknown): FhirError {
  try {
    run();
  } catch (error) {
    if (error instanceof FhirError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a FhirError');
}

describe('string', () => {
  it.each([
    ['name', 'peter', undefined, [{ kind: 'string', value: 'peter' }]],
    ['name:exact', 'Peter', 'exact', [{ kind: 'string', value: 'Peter' }]],
    ['name:contains', 'eter', 'contains', [{ kind: 'string', value: 'eter' }]],
    // Prefixes belong to numbers, dates and quantities: elsewhere `ge` is text (a family name Gent).
    ['family', 'gent', undefined, [{ kind: 'string', value: 'gent' }]],
  ])('Patient?%s=%s', (name, value, modifier, expected) => {
    const parsed = criterion('Patient', { [name]: value });
    expect(parsed).toMatchObject({ name, resourceType: 'Patient', chain: [], param: { code: name.split(':')[0], type: 'string' }, values: expected });
    expect(parsed.modifier).toBe(modifier);
  });

  it('a comma separates values that are OR-ed', () => {
    expect(values('Patient', 'given', 'peter,paul')).toEqual([
      { kind: 'string', value: 'peter' },
      { kind: 'string', value: 'paul' },
    ]);
  });

  it('a repeated parameter gives criteria that are AND-ed', () => {
    const { criteria } = parse('Patient', { given: ['peter', 'paul'] });
    expect(criteria.map((parsed) => plain(parsed).values)).toEqual([[{ kind: 'string', value: 'peter' }], [{ kind: 'string', value: 'paul' }]]);
  });

  it.each([
    ['a\\,b', ['a,b']],
    ['a\\,b,c', ['a,b', 'c']],
    ['a\\\\,b', ['a\\', 'b']],
    ['a\\|b\\$c', ['a|b$c']],
  ])('escaping: name=%s is %j', (value, expected) => {
    expect(values('Patient', 'name', value)).toEqual(expected.map((text) => ({ kind: 'string', value: text })));
  });
});

describe('token', () => {
  it.each([
    ['gender', 'female', { kind: 'token', code: 'female' }],
    ['identifier', 'http://acme.org/patient|2345', { kind: 'token', system: 'http://acme.org/patient', code: '2345' }],
    ['identifier', '|2345', { kind: 'token', system: '', code: '2345' }],
    ['identifier', 'http://acme.org/patient|', { kind: 'token', system: 'http://acme.org/patient' }],
    ['identifier', 'urn:x|a\\|b', { kind: 'token', system: 'urn:x', code: 'a|b' }],
    ['active', 'true', { kind: 'token', code: 'true' }],
  ])('Patient?%s=%s', (name, value, expected) => {
    expect(values('Patient', name, value)).toEqual([expected]);
  });

  it.each([
    ['code:text', 'headache', 'text', { kind: 'string', value: 'headache' }],
    ['code:not', 'http://loinc.org|1234-5', 'not', { kind: 'token', system: 'http://loinc.org', code: '1234-5' }],
  ])('Condition?%s=%s', (name, value, modifier, expected) => {
    const parsed = criterion('Condition', { [name]: value });
    expect(parsed.modifier).toBe(modifier);
    expect(parsed.values).toEqual([expected]);
  });

  it(':of-type takes the identifier type system|code and the value', () => {
    const parsed = criterion('Patient', { 'identifier:of-type': 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053' });
    expect(parsed.modifier).toBe('of-type');
    expect(parsed.values).toEqual([{ kind: 'token', system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', value: '446053' }]);
  });
});

describe('reference', () => {
  it.each([
    ['Observation', 'subject', 'Patient/23', { kind: 'reference', resourceType: 'Patient', id: '23' }],
    // A single-target parameter types a bare id; a multi-target one leaves it open to any target.
    ['Observation', 'patient', '23', { kind: 'reference', resourceType: 'Patient', id: '23' }],
    ['Observation', 'subject', '23', { kind: 'reference', id: '23' }],
    ['Observation', 'subject', 'http://example.org/fhir/Patient/23', { kind: 'reference', url: 'http://example.org/fhir/Patient/23' }],
    ['Observation', 'subject', 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a', { kind: 'reference', url: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a' }],
    ['CarePlan', 'instantiates-canonical', 'http://example.org/PlanDefinition/p1|2.0', { kind: 'reference', url: 'http://example.org/PlanDefinition/p1', version: '2.0' }],
    ['CarePlan', 'instantiates-canonical', 'http://example.org/PlanDefinition/p1', { kind: 'reference', url: 'http://example.org/PlanDefinition/p1' }],
  ])('%s?%s=%s', (type, name, value, expected) => {
    expect(values(type, name, value)).toEqual([expected]);
  });

  it(':[type] names the target type of a bare id', () => {
    const parsed = criterion('Observation', { 'subject:Patient': '23' });
    expect(parsed.modifier).toEqual({ type: 'Patient' });
    expect(parsed.values).toEqual([{ kind: 'reference', resourceType: 'Patient', id: '23' }]);
  });

  it(':identifier searches the reference by its identifier', () => {
    const parsed = criterion('Observation', { 'subject:identifier': 'http://acme.org/fhir/identifier/mrn|123456' });
    expect(parsed.modifier).toBe('identifier');
    expect(parsed.values).toEqual([{ kind: 'identifier', system: 'http://acme.org/fhir/identifier/mrn', value: '123456' }]);
  });
});

describe('date', () => {
  it.each(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const)('prefix %s', (prefix) => {
    expect(values('Patient', 'birthdate', `${prefix}2013-01-14`)).toEqual([{ kind: 'date', prefix, ...range('2013-01-14') }]);
  });

  it.each([
    ['1974', '1974'],
    ['1974-12', '1974-12'],
    ['2013-01-14T10:00', '2013-01-14T10:00'],
    ['2013-01-14T10:00:00Z', '2013-01-14T10:00:00Z'],
    ['2013-01-14T10:00:00.123+10:00', '2013-01-14T10:00:00.123+10:00'],
  ])('without a prefix, eq over the range %s stands for', (value, text) => {
    expect(values('Encounter', 'date', value)).toEqual([{ kind: 'date', prefix: 'eq', ...range(text) }]);
  });

  it('_lastUpdated is a date parameter of every type', () => {
    expect(values('Observation', '_lastUpdated', 'gt2010-10-01')).toEqual([{ kind: 'date', prefix: 'gt', ...range('2010-10-01') }]);
  });
});

describe('number', () => {
  it.each([
    ['0.8', { prefix: 'eq', value: 0.8, low: 0.75, high: 0.85 }],
    ['100', { prefix: 'eq', value: 100, low: 99.5, high: 100.5 }],
    ['lt0.8', { prefix: 'lt', value: 0.8, low: 0.75, high: 0.85 }],
    ['ge-1.5', { prefix: 'ge', value: -1.5, low: -1.55, high: -1.45 }],
  ])('RiskAssessment?probability=%s', (value, expected) => {
    const [parsed] = values('RiskAssessment', 'probability', value);
    expect(parsed).toMatchObject({ kind: 'number', prefix: expected.prefix, value: expected.value });
    expect(parsed).toHaveProperty('low', expect.closeTo(expected.low, 12));
    expect(parsed).toHaveProperty('high', expect.closeTo(expected.high, 12));
  });
});

describe('quantity', () => {
  it.each([
    ['5.4', { prefix: 'eq', value: 5.4 }],
    ['5.4|http://unitsofmeasure.org|mg', { prefix: 'eq', value: 5.4, system: 'http://unitsofmeasure.org', code: 'mg' }],
    ['5.4||mg', { prefix: 'eq', value: 5.4, code: 'mg' }],
    ['le5.4|http://unitsofmeasure.org|mg', { prefix: 'le', value: 5.4, system: 'http://unitsofmeasure.org', code: 'mg' }],
    ['ap5.4|http://unitsofmeasure.org|mg', { prefix: 'ap', value: 5.4, system: 'http://unitsofmeasure.org', code: 'mg' }],
  ])('Observation?value-quantity=%s', (value, expected) => {
    const [parsed] = values('Observation', 'value-quantity', value);
    expect(parsed).toEqual({ kind: 'quantity', low: expect.closeTo(5.35, 12), high: expect.closeTo(5.45, 12), ...expected });
  });
});

describe('uri', () => {
  it.each([
    ['url', undefined],
    ['url:below', 'below'],
    ['url:above', 'above'],
  ])('ValueSet?%s', (name, modifier) => {
    const parsed = criterion('ValueSet', { [name]: 'http://acme.org/fhir/ValueSet/123' });
    expect(parsed.modifier).toBe(modifier);
    expect(parsed.values).toEqual([{ kind: 'uri', value: 'http://acme.org/fhir/ValueSet/123' }]);
  });
});

describe('composite', () => {
  it('Observation?code-value-quantity=code$quantity, one value per component', () => {
    expect(values('Observation', 'code-value-quantity', 'http://loinc.org|8480-6$lt60')).toEqual([
      {
        kind: 'composite',
        components: [
          { kind: 'token', system: 'http://loinc.org', code: '8480-6' },
          { kind: 'quantity', prefix: 'lt', value: 60, low: 59.5, high: 60.5 },
        ],
      },
    ]);
  });

  it('commas separate composite values, \\$ escapes a dollar inside a component', () => {
    expect(values('Observation', 'code-value-string', 'a$x\\$y,b$z')).toEqual([
      { kind: 'composite', components: [{ kind: 'token', code: 'a' }, { kind: 'string', value: 'x$y' }] },
      { kind: 'composite', components: [{ kind: 'token', code: 'b' }, { kind: 'string', value: 'z' }] },
    ]);
  });
});

describe(':missing', () => {
  it.each([
    ['Patient', 'birthdate'],
    ['Patient', 'name'],
    ['Patient', 'gender'],
    ['Observation', 'subject'],
    ['Observation', 'value-quantity'],
    ['Observation', 'code-value-quantity'],
    ['ValueSet', 'url'],
    ['RiskAssessment', 'probability'],
  ])('applies to every type of parameter: %s?%s:missing', (type, name) => {
    const parsed = criterion(type, { [`${name}:missing`]: 'true,false' });
    expect(parsed.modifier).toBe('missing');
    expect(parsed.values).toEqual([
      { kind: 'missing', missing: true },
      { kind: 'missing', missing: false },
    ]);
  });
});

describe('parameters for all resources', () => {
  it.each([
    ['_id', '123', 'token', { kind: 'token', code: '123' }],
    ['_tag', 'http://acme.org/tags|needs-review', 'token', { kind: 'token', system: 'http://acme.org/tags', code: 'needs-review' }],
    ['_security', 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R', 'token', { kind: 'token', system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    ['_profile', 'http://hl7.org/fhir/StructureDefinition/vitalsigns', 'uri', { kind: 'uri', value: 'http://hl7.org/fhir/StructureDefinition/vitalsigns' }],
    ['_source', 'http://example.org/source', 'uri', { kind: 'uri', value: 'http://example.org/source' }],
  ])('%s', (name, value, type, expected) => {
    const parsed = criterion('Observation', { [name]: value });
    expect(parsed.param).toMatchObject({ code: name, type });
    expect(parsed.values).toEqual([expected]);
  });
});

describe('chained parameters', () => {
  it('subject:Patient.name follows subject to Patient', () => {
    expect(criterion('DiagnosticReport', { 'subject:Patient.name': 'peter' })).toMatchObject({
      name: 'subject:Patient.name',
      resourceType: 'DiagnosticReport',
      chain: [{ param: 'subject', targetType: 'Patient' }],
      param: { code: 'name', type: 'string' },
      values: [{ kind: 'string', value: 'peter' }],
    });
  });

  it('a single-target reference needs no type', () => {
    expect(criterion('Observation', { 'patient.birthdate': 'ge1970' }).chain).toEqual([{ param: 'patient', targetType: 'Patient' }]);
  });

  it('follows several levels, with a modifier on the last parameter', () => {
    const parsed = criterion('Observation', { 'subject:Patient.organization.name:exact': 'Acme' });
    expect(parsed.chain).toEqual([
      { param: 'subject', targetType: 'Patient' },
      { param: 'organization', targetType: 'Organization' },
    ]);
    expect(parsed.modifier).toBe('exact');
  });

  it('an unqualified multi-target reference searches every target that has the parameter, OR-ed', () => {
    const [parsed] = parse('DiagnosticReport', { 'subject.name': 'peter' }).criteria;
    expect(parsed).toMatchObject({ name: 'subject.name' });
    expect('anyOf' in parsed && parsed.anyOf.map((alternative) => alternative.chain)).toEqual([
      [{ param: 'subject', targetType: 'Patient' }],
      [{ param: 'subject', targetType: 'Location' }],
    ]);
  });
});

describe('_has (reverse chaining)', () => {
  it('Patient?_has:Observation:patient:code=1234-5', () => {
    const [parsed] = parse('Patient', { '_has:Observation:patient:code': '1234-5' }).criteria;
    expect(parsed).toMatchObject({
      name: '_has:Observation:patient:code',
      resourceType: 'Observation',
      referenceParam: 'patient',
      inner: { resourceType: 'Observation', chain: [], param: { code: 'code' }, values: [{ kind: 'token', code: '1234-5' }] },
    });
  });

  it('nests: Patient?_has:Observation:patient:_has:AuditEvent:entity:user=MyUserId', () => {
    const [parsed] = parse('Patient', { '_has:Observation:patient:_has:AuditEvent:entity:agent': 'Practitioner/MyUserId' }).criteria;
    expect(parsed).toMatchObject({
      resourceType: 'Observation',
      referenceParam: 'patient',
      inner: {
        resourceType: 'AuditEvent',
        referenceParam: 'entity',
        inner: { resourceType: 'AuditEvent', param: { code: 'agent' }, values: [{ kind: 'reference', resourceType: 'Practitioner', id: 'MyUserId' }] },
      },
    });
  });

  it('the inner parameter takes modifiers and chains', () => {
    const [parsed] = parse('Patient', { '_has:Observation:patient:subject:Patient.name:exact': 'Peter' }).criteria;
    expect(parsed).toMatchObject({ inner: { chain: [{ param: 'subject', targetType: 'Patient' }], modifier: 'exact', param: { code: 'name' } } });
  });
});

describe('system search', () => {
  it('_type names the types; a parameter gives one criterion per type, OR-ed', () => {
    const query = parse([], { _type: 'Patient,Practitioner', name: 'smith' });
    expect(query.resourceTypes).toEqual(['Patient', 'Practitioner']);
    const [parsed] = query.criteria;
    expect('anyOf' in parsed && parsed.anyOf.map((alternative) => [alternative.resourceType, alternative.param.expression])).toEqual([
      ['Patient', expect.stringMatching(/^Patient\.name/)],
      ['Practitioner', expect.stringMatching(/^Practitioner\.name/)],
    ]);
  });

  it('without _type, searches every type', () => {
    expect(parse([], { _id: '123' }).resourceTypes.length).toBe(146);
  });

  it('a single _type is a plain search of that type', () => {
    expect(parse([], { _type: 'Observation', code: '1234-5' }).criteria[0]).toMatchObject({ resourceType: 'Observation', param: { code: 'code' } });
  });

  it('parameters must be common to all the types (R4: SHALL be common)', () => {
    expect(parse([], { _type: 'Patient,Observation', birthdate: '1970' }).ignored).toEqual([
      { name: 'birthdate', reason: expect.stringContaining('not a search parameter of Observation') },
    ]);
  });

  it('_type in a type search is ignored, or a 400 when strict', () => {
    expect(parse('Patient', { _type: 'Observation' }).ignored).toEqual([{ name: '_type', reason: '_type applies to a system search only' }]);
    expect(failure(() => parse('Patient', { _type: 'Observation' }, { strict: true })).issues[0].expression).toEqual(['_type']);
  });
});

describe('compartment search', () => {
  const compartment = { resourceType: 'Patient', id: '123' } as const;

  it('Patient/123/Observation carries the compartment', () => {
    expect(parse('Observation', { code: '1234-5' }, {}, compartment)).toMatchObject({ resourceTypes: ['Observation'], compartment });
  });

  it('a system search in a compartment covers the compartment types only', () => {
    const { resourceTypes } = parse([], {}, {}, compartment);
    expect(resourceTypes).toContain('Observation');
    expect(resourceTypes).not.toContain('Practitioner');
  });

  it('a type outside the compartment is a 400', () => {
    expect(failure(() => parse('Practitioner', {}, {}, compartment)).status).toBe(400);
  });
});

describe('_sort', () => {
  it('sorts by several keys, - for descending', () => {
    const { sort } = parse('Observation', { _sort: 'status,-date,_id,-_lastUpdated' });
    expect(sort.map((rule) => [typeof rule.param === 'string' ? rule.param : rule.param.code, rule.descending])).toEqual([
      ['status', false],
      ['date', true],
      ['_id', false],
      ['_lastUpdated', true],
    ]);
  });

  it('takes any parameter of the type', () => {
    expect(parse('Patient', { _sort: 'family' }).sort[0].param).toMatchObject({ code: 'family', type: 'string' });
  });

  it('is empty when absent (the engine picks its default order)', () => {
    expect(parse('Patient', {}).sort).toEqual([]);
  });
});

describe('result parameters', () => {
  it('defaults', () => {
    expect(parse('Patient', {})).toEqual({
      resourceTypes: ['Patient'],
      criteria: [],
      sort: [],
      count: 20,
      total: 'estimate',
      include: [],
      revinclude: [],
      ignored: [],
    });
  });

  it.each([
    ['0', 0],
    ['50', 50],
    ['100', 100],
  ])('_count=%s', (value, expected) => {
    expect(parse('Patient', { _count: value }).count).toBe(expected);
  });

  it.each(['none', 'estimate', 'accurate'] as const)('_total=%s', (total) => {
    expect(parse('Patient', { _total: total }).total).toBe(total);
  });

  it.each([
    ['true', 'true'],
    ['count', 'count'],
    ['data', 'data'],
    ['text', 'text'],
    ['false', undefined],
  ])('_summary=%s', (value, expected) => {
    expect(parse('Patient', { _summary: value }).summary).toBe(expected);
  });

  it('_elements lists base element names', () => {
    expect(parse('Patient', { _elements: 'identifier,active,link' }).elements).toEqual(['identifier', 'active', 'link']);
  });

  it('_cursor passes through; _format is the handler’s', () => {
    const query = parse('Patient', { _cursor: 'opaque==', _format: 'json' });
    expect(query.cursor).toBe('opaque==');
    expect(query.ignored).toEqual([]);
  });
});

describe('_include and _revinclude', () => {
  it.each([
    ['_include', 'MedicationRequest:patient', { sourceType: 'MedicationRequest', param: 'patient', iterate: false }],
    ['_include', 'Observation:subject:Patient', { sourceType: 'Observation', param: 'subject', targetType: 'Patient', iterate: false }],
    ['_include:iterate', 'MedicationRequest:medication', { sourceType: 'MedicationRequest', param: 'medication', iterate: true }],
    ['_include', 'Observation:*', { sourceType: 'Observation', iterate: false }],
    ['_include', '*', { sourceType: 'Observation', iterate: false }],
  ])('%s=%s', (name, value, expected) => {
    expect(parse('Observation', { [name]: value }).include).toEqual([expected]);
  });

  it.each([
    ['_revinclude', 'Provenance:target', { sourceType: 'Provenance', param: 'target', iterate: false }],
    ['_revinclude:iterate', 'Observation:has-member', { sourceType: 'Observation', param: 'has-member', iterate: true }],
    ['_revinclude', 'Observation:*', { sourceType: 'Observation', iterate: false }],
  ])('%s=%s', (name, value, expected) => {
    expect(parse('Observation', { [name]: value }).revinclude).toEqual([expected]);
  });

  it('several of each', () => {
    expect(parse('Observation', { _include: ['Observation:patient', 'Observation:encounter'] }).include.map((rule) => rule.param)).toEqual(['patient', 'encounter']);
  });

  it('_revinclude=* (every type of the server) is unsupported', () => {
    expect(parse('Patient', { _revinclude: '*' }).ignored).toEqual([{ name: '_revinclude', reason: expect.stringContaining('not supported') }]);
  });
});

describe('unknown and unsupported parameters', () => {
  it.each([
    ['foo', 'Unknown search parameter "foo" for Patient'],
    ['foo.name', 'Unknown search parameter "foo" for Patient'],
    ['general-practitioner:Practitioner.foo', 'Unknown search parameter "foo" for Practitioner'],
  ])('lenient: Patient?%s=x is ignored with the reason', (name, reason) => {
    expect(parse('Patient', { [name]: 'x', gender: 'male' })).toMatchObject({ criteria: [{ param: { code: 'gender' } }], ignored: [{ name, reason }] });
  });

  // R4 search.html: servers SHALL reject a search with a modifier they do not support.
  it.each([
    ['birthdate:exact', ':exact does not apply to date parameters such as "birthdate"'],
    ['name:text', ':text does not apply to string parameters such as "name"'],
    ['gender:contains', ':contains does not apply to token parameters such as "gender"'],
    ['name:Patient', 'A target type (:Patient) applies to reference parameters only; "name" is a string parameter'],
    ['general-practitioner:Patient', '"general-practitioner" cannot refer to Patient (only to Practitioner, Organization, PractitionerRole)'],
    ['language:below', ':below on a token needs a terminology service, which this server does not have'],
    ['language:in', ':in on a token needs a terminology service, which this server does not have'],
    ['language:not-in', ':not-in on a token needs a terminology service, which this server does not have'],
    ['language:above', ':above on a token needs a terminology service, which this server does not have'],
    // A modifier other than a type on a chain link is malformed.
    ['organization:identifier.name', undefined],
  ])('even lenient: Patient?%s=x is a 400 naming the parameter', (name, reason) => {
    const error = failure(() => parse('Patient', { [name]: 'x' }));
    expect(error.status).toBe(400);
    expect(error.issues[0].expression).toEqual([name]);
    if (reason) {
      expect(error.issues[0].diagnostics).toBe(reason);
    }
  });

  it('strict: an unknown parameter is a 400 naming the parameter', () => {
    const error = failure(() => parse('Patient', { 'shoe-size': '42' }, { strict: true }));
    expect(error.status).toBe(400);
    expect(error.issues[0].expression).toEqual(['shoe-size']);
  });

  it('the special parameter near is unsupported', () => {
    expect(parse('Location', { near: '-83.69|42.25|11.2|km' }).ignored).toEqual([{ name: 'near', reason: expect.stringContaining('special') }]);
  });

  it('a parameter with an empty value is ignored, even when strict', () => {
    expect(parse('Patient', { name: '', gender: ['', 'male'] }, { strict: true }).criteria).toEqual([expect.objectContaining({ name: 'gender' })]);
  });
});

describe('bad input: always a 400 naming the parameter as written, strict or not', () => {
  it.each<[string, string | readonly string[], Query, string]>([
    ['a date that is not one', 'Patient', { birthdate: 'notadate' }, 'birthdate'],
    ['an impossible date', 'Patient', { birthdate: '2020-02-30' }, 'birthdate'],
    ['an unknown prefix', 'Patient', { birthdate: 'xx2020' }, 'birthdate'],
    ['a prefix in capitals', 'Patient', { birthdate: 'GE2020' }, 'birthdate'],
    ['a number that is not one', 'RiskAssessment', { probability: 'high' }, 'probability'],
    ['a quantity that is not one', 'Observation', { 'value-quantity': 'abc' }, 'value-quantity'],
    ['a quantity with two parts', 'Observation', { 'value-quantity': '5.4|mg' }, 'value-quantity'],
    ['a quantity without a number', 'Observation', { 'value-quantity': '|http://unitsofmeasure.org|mg' }, 'value-quantity'],
    ['a token with three parts', 'Patient', { identifier: 'a|b|c' }, 'identifier'],
    ['a bare | as token', 'Patient', { identifier: '|' }, 'identifier'],
    ['an :of-type without its value', 'Patient', { 'identifier:of-type': 'http://terminology.hl7.org/CodeSystem/v2-0203|MR' }, 'identifier:of-type'],
    ['an empty value in an OR list', 'Patient', { name: 'a,' }, 'name'],
    [':missing other than true/false', 'Patient', { 'name:missing': 'yes' }, 'name:missing'],
    ['an unknown modifier', 'Patient', { 'name:fuzzy': 'x' }, 'name:fuzzy'],
    ['an :iterate elsewhere', 'Patient', { 'name:iterate': 'x' }, 'name:iterate'],
    ['a reference to a type the parameter cannot point at', 'Observation', { subject: 'Practitioner/1' }, 'subject'],
    ['a reference of another type than its :[type]', 'Observation', { 'subject:Patient': 'Group/1' }, 'subject:Patient'],
    ['a reference to an unknown type', 'Observation', { subject: 'Foo/1' }, 'subject'],
    ['a reference that is none of the forms', 'Observation', { subject: 'not a reference' }, 'subject'],
    ['a version on a relative reference', 'Observation', { subject: 'Patient/1|2' }, 'subject'],
    ['a composite with too few components', 'Observation', { 'code-value-quantity': 'http://loinc.org|8480-6' }, 'code-value-quantity'],
    ['a composite with a bad component', 'Observation', { 'code-value-quantity': 'http://loinc.org|8480-6$abc' }, 'code-value-quantity'],
    ['a chain through a token', 'Patient', { 'gender.name': 'x' }, 'gender.name'],
    ['a chain through a string, several levels down', 'Observation', { 'subject:Patient.name.family': 'x' }, 'subject:Patient.name.family'],
    ['a chain whose last parameter changes type across targets', 'Observation', { 'part-of.series': 'x' }, 'part-of.series'],
    ['a malformed _has', 'Patient', { '_has:Observation:patient': 'x' }, '_has:Observation:patient'],
    ['a _has on an unknown type', 'Patient', { '_has:Foo:patient:code': 'x' }, '_has:Foo:patient:code'],
    ['a _has through a non-reference', 'Patient', { '_has:Observation:code:status': 'final' }, '_has:Observation:code:status'],
    ['a _has through a reference that cannot point at the type', 'Patient', { '_has:Observation:encounter:code': 'x' }, '_has:Observation:encounter:code'],
    ['a _sort on an unknown parameter', 'Patient', { _sort: 'foo' }, '_sort'],
    ['a _sort with an empty key', 'Patient', { _sort: 'name,' }, '_sort'],
    ['a _sort on a type parameter across several types', [], { _type: 'Patient,Practitioner', _sort: 'name' }, '_sort'],
    ['a _sort:desc (R3 syntax)', 'Patient', { '_sort:desc': 'name' }, '_sort:desc'],
    ['a negative _count', 'Patient', { _count: '-1' }, '_count'],
    ['a _count that is no number', 'Patient', { _count: 'ten' }, '_count'],
    ['a _count above the maximum', 'Patient', { _count: '101' }, '_count'],
    ['two _count', 'Patient', { _count: ['10', '20'] }, '_count'],
    ['an unknown _total', 'Patient', { _total: 'some' }, '_total'],
    ['an unknown _summary', 'Patient', { _summary: 'brief' }, '_summary'],
    ['an _elements entry that is not an element name', 'Patient', { _elements: 'name,' }, '_elements'],
    ['an _include without a parameter', 'Observation', { _include: 'Observation' }, '_include'],
    ['an _include of an unknown type', 'Observation', { _include: 'Foo:subject' }, '_include'],
    ['an _include of a non-reference parameter', 'Observation', { _include: 'Observation:code' }, '_include'],
    ['an _include of an unknown parameter', 'Observation', { _include: 'Observation:foo' }, '_include'],
    ['an _include to a type the reference cannot point at', 'Observation', { _include: 'Observation:subject:Practitioner' }, '_include'],
    ['a _revinclude of a non-reference parameter', 'Patient', { _revinclude: 'Observation:status' }, '_revinclude'],
    ['an _include:recurse (R3 syntax)', 'Observation', { '_include:recurse': 'Observation:subject' }, '_include:recurse'],
    ['an unknown _type', [], { _type: 'Patient,Foo' }, '_type'],
  ])('%s', (_case, types, query, expression) => {
    for (const strict of [false, true]) {
      const error = failure(() => parse(types, query, { strict }));
      expect(error.status).toBe(400);
      expect(error.issues[0].expression).toEqual([expression]);
      expect(error.message.length).toBeGreaterThan(10);
    }
  });
});
