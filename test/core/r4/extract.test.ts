import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { extractValues } from '../../../core/r4/extract.js';
import { searchParameter } from '../../../core/r4/search-parameters.js';
import { dateRange, decimalRange } from '../../../core/r4/precision.js';
import type { IndexValue } from '../../../core/r4/search-types.js';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const MRN = 'http://hospital.example.org/mrn';

function values(resource: Resource, code: string): IndexValue[] {
  const param = searchParameter(resource.resourceType, code);
  if (!param) {
    throw new Error(`No parameter ${resource.resourceType}.${code}`);
  }
  return extractValues(resource, param);
}

function date(text: string): IndexValue {
  return { type: 'date', ...(dateRange(text) as { start: number; end: number }) };
}

function string(value: string, normalized: string): IndexValue {
  return { type: 'string', value, normalized };
}

const patient: Resource = {
  resourceType: 'Patient',
  id: 'p1',
  meta: {
    lastUpdated: '2024-03-01T10:00:00.123Z',
    profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient|6.1.0'],
    tag: [{ system: 'http://example.org/tags', code: 'vip', display: 'Very Important' }],
    security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    source: 'http://example.org/emr#feed-7',
  },
  identifier: [
    {
      system: MRN,
      value: 'MRN-001',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'Medical Record Number' },
    },
    { system: 'http://hl7.org/fhir/sid/us-ssn', value: '999-12-3456' },
  ],
  active: true,
  name: [
    { use: 'official', family: 'Müller-Lüdenscheidt', given: ['Zoë', 'Anne  Sophie'], prefix: ['Dr.'], text: 'Dr. Zoë Müller' },
    { use: 'nickname', given: ['Zozo'] },
  ],
  telecom: [
    { system: 'phone', value: '+33 1 23 45 67 89', use: 'home' },
    { system: 'email', value: 'zoe@example.org' },
  ],
  gender: 'female',
  birthDate: '1974-12',
  address: [{ line: ['12 Rue de l’Église', 'Bâtiment B'], city: 'Besançon', postalCode: '25000', country: 'FR' }],
  generalPractitioner: [
    { reference: 'Practitioner/pr1' },
    { reference: 'https://other.example.org/fhir/Organization/o9/_history/3' },
    { reference: 'urn:uuid:6f1d3a3e-2f9b-4a43-9d6e-0c3f2d5a8b11', type: 'Practitioner' },
  ],
  managingOrganization: { type: 'Organization', identifier: { system: 'http://example.org/orgs', value: 'ORG-7' }, display: 'Clinique' },
};

/** A Synthea-like vital signs panel: no value of its own, two components. */
const bloodPressure: Resource = {
  resourceType: 'Observation',
  id: 'bp1',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital signs' }] }],
  code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }], text: 'Blood pressure panel' },
  subject: { reference: 'https://fhir.example.org/r4/Patient/p1' },
  effectivePeriod: { start: '2024-03-01T09:30:00+01:00' },
  component: [
    { code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic' }] }, valueQuantity: { value: 120, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
    { code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic' }] }, valueQuantity: { value: 80.5, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
  ],
};

const glucose: Resource = {
  resourceType: 'Observation',
  id: 'glu1',
  status: 'final',
  code: { coding: [{ system: LOINC, code: '2339-0', display: 'Glucose' }], text: 'Glucose [Mass/volume] in Blood' },
  subject: { reference: 'Patient/p1' },
  encounter: { reference: 'Encounter/e1/_history/2' },
  effectiveDateTime: '2024-03-01',
  valueQuantity: { value: 5.4, unit: 'mg/dL', system: UCUM, code: 'mg/dL' },
};

const systolic = { type: 'token', system: LOINC, code: '8480-6', text: 'systolic' } as const;
const diastolic = { type: 'token', system: LOINC, code: '8462-4', text: 'diastolic' } as const;
const mmHg = { system: UCUM, code: 'mm[Hg]', unit: 'mmHg' } as const;

describe('extractValues: string', () => {
  it.each([
    [
      'name',
      [
        string('Müller-Lüdenscheidt', 'muller-ludenscheidt'),
        string('Zoë', 'zoe'),
        string('Anne  Sophie', 'anne sophie'),
        string('Dr.', 'dr.'),
        string('Dr. Zoë Müller', 'dr. zoe muller'),
        string('Zozo', 'zozo'),
      ],
    ],
    ['family', [string('Müller-Lüdenscheidt', 'muller-ludenscheidt')]],
    ['given', [string('Zoë', 'zoe'), string('Anne  Sophie', 'anne sophie'), string('Zozo', 'zozo')]],
    [
      'address',
      [string('12 Rue de l’Église', '12 rue de l’eglise'), string('Bâtiment B', 'batiment b'), string('Besançon', 'besancon'), string('25000', '25000'), string('FR', 'fr')],
    ],
    ['address-city', [string('Besançon', 'besancon')]],
    ['address-state', []],
  ])('Patient %s', (code, expected) => {
    expect(values(patient, code)).toEqual(expected);
  });

  it('reads a string value and the text of a CodeableConcept value', () => {
    const observation = (value: object): Resource => ({ resourceType: 'Observation', status: 'final', code: { text: 'Note' }, ...value });
    expect(values(observation({ valueString: 'Légère fièvre' }), 'value-string')).toEqual([string('Légère fièvre', 'legere fievre')]);
    expect(values(observation({ valueCodeableConcept: { text: 'Positive' } }), 'value-string')).toEqual([string('Positive', 'positive')]);
  });
});

describe('extractValues: token', () => {
  it.each([
    [
      'identifier',
      [
        {
          type: 'token',
          system: MRN,
          code: 'MRN-001',
          text: 'medical record number',
          identifierType: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }],
        },
        { type: 'token', system: 'http://hl7.org/fhir/sid/us-ssn', code: '999-12-3456' },
      ],
    ],
    [
      'telecom',
      [
        { type: 'token', system: 'phone', code: '+33 1 23 45 67 89' },
        { type: 'token', system: 'email', code: 'zoe@example.org' },
      ],
    ],
    ['phone', [{ type: 'token', system: 'phone', code: '+33 1 23 45 67 89' }]],
    ['email', [{ type: 'token', system: 'email', code: 'zoe@example.org' }]],
    ['gender', [{ type: 'token', code: 'female' }]],
    ['active', [{ type: 'token', code: 'true' }]],
    ['_id', [{ type: 'token', code: 'p1' }]],
    ['_tag', [{ type: 'token', system: 'http://example.org/tags', code: 'vip', text: 'very important' }]],
    ['_security', [{ type: 'token', system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }]],
    // R4's expression is `deceased.exists() and deceased != false`: a patient not known to be dead is `false`.
    ['deceased', [{ type: 'token', code: 'false' }]],
  ])('Patient %s', (code, expected) => {
    expect(values(patient, code)).toEqual(expected);
  });

  it('gives one token per coding, and the concept text unless a display says it', () => {
    expect(values(glucose, 'code')).toEqual([
      { type: 'token', system: LOINC, code: '2339-0', text: 'glucose' },
      { type: 'token', text: 'glucose [mass/volume] in blood' },
    ]);
    expect(values(bloodPressure, 'code')).toEqual([{ type: 'token', system: LOINC, code: '85354-9', text: 'blood pressure panel' }]);
    expect(values(bloodPressure, 'combo-code')).toEqual([{ type: 'token', system: LOINC, code: '85354-9', text: 'blood pressure panel' }, systolic, diastolic]);
  });

  it('reads a deceased date as deceased', () => {
    expect(values({ ...patient, deceasedDateTime: '2020-01-01' } as Resource, 'deceased')).toEqual([{ type: 'token', code: 'true' }]);
  });
});

describe('extractValues: reference', () => {
  it('reads relative, absolute, versioned, urn and identifier-only references', () => {
    expect(values(patient, 'general-practitioner')).toEqual([
      { type: 'reference', resourceType: 'Practitioner', id: 'pr1' },
      { type: 'reference', resourceType: 'Organization', id: 'o9', url: 'https://other.example.org/fhir/Organization/o9/_history/3' },
      { type: 'reference', resourceType: 'Practitioner', url: 'urn:uuid:6f1d3a3e-2f9b-4a43-9d6e-0c3f2d5a8b11' },
    ]);
    expect(values(patient, 'organization')).toEqual([{ type: 'reference', resourceType: 'Organization', identifier: { system: 'http://example.org/orgs', value: 'ORG-7' } }]);
    expect(values(glucose, 'encounter')).toEqual([{ type: 'reference', resourceType: 'Encounter', id: 'e1' }]);
  });

  it('finds the type that `where(resolve() is Patient)` asks for in relative and absolute references and in Reference.type', () => {
    expect(values(glucose, 'patient')).toEqual([{ type: 'reference', resourceType: 'Patient', id: 'p1' }]);
    expect(values(bloodPressure, 'patient')).toEqual([{ type: 'reference', resourceType: 'Patient', id: 'p1', url: 'https://fhir.example.org/r4/Patient/p1' }]);
    const typedUrn: Resource = { ...glucose, subject: { reference: 'urn:uuid:0b0c9c58-5b1f-4e3a-9f55-6f7c1d2e3a4b', type: 'Patient' } };
    expect(values(typedUrn, 'patient')).toEqual([{ type: 'reference', resourceType: 'Patient', url: 'urn:uuid:0b0c9c58-5b1f-4e3a-9f55-6f7c1d2e3a4b' }]);
    for (const subject of [{ reference: 'Group/g1' }, { reference: 'https://fhir.example.org/r4/Group/g1' }, { reference: 'urn:uuid:0b0c9c58-5b1f-4e3a-9f55-6f7c1d2e3a4b' }]) {
      expect(values({ ...glucose, subject } as Resource, 'patient')).toEqual([]);
    }
  });

  it('keeps a URL that does not end in a resource type and id as the URL only', () => {
    const observation: Resource = { ...glucose, subject: { reference: 'https://example.org/people/p1' } };
    expect(values(observation, 'subject')).toEqual([{ type: 'reference', url: 'https://example.org/people/p1' }]);
  });

  it('splits the version off a canonical', () => {
    const response: Resource = { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'http://example.org/Questionnaire/phq-9|2.0' };
    expect(values(response, 'questionnaire')).toEqual([{ type: 'reference', url: 'http://example.org/Questionnaire/phq-9', version: '2.0' }]);
    const unversioned: Resource = { ...response, questionnaire: 'http://example.org/Questionnaire/phq-9' };
    expect(values(unversioned, 'questionnaire')).toEqual([{ type: 'reference', url: 'http://example.org/Questionnaire/phq-9' }]);
  });

  it('reads the first entry of a document Bundle as its composition', () => {
    const bundle: Resource = { resourceType: 'Bundle', type: 'document', entry: [{ resource: { resourceType: 'Composition', id: 'c1' } as Resource }] };
    expect(values(bundle, 'composition')).toEqual([{ type: 'reference', resourceType: 'Composition', id: 'c1' }]);
  });
});

describe('extractValues: date', () => {
  it.each([
    ['birthdate', patient, [date('1974-12')]],
    ['_lastUpdated', patient, [date('2024-03-01T10:00:00.123Z')]],
    ['date', glucose, [date('2024-03-01')]],
    // An open end runs to +∞.
    ['date', bloodPressure, [{ type: 'date', start: Date.parse('2024-03-01T08:30:00Z'), end: Infinity }]],
  ])('%s of %s', (code, resource, expected) => {
    expect(values(resource as Resource, code)).toEqual(expected);
  });

  it('reads a closed Period, a Period open at the start, and a Timing by its outer bounds', () => {
    const encounter = (period: object): Resource => ({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period });
    expect(values(encounter({ start: '2024-01-05', end: '2024-01-07T12:00:00Z' }), 'date')).toEqual([
      { type: 'date', start: Date.parse('2024-01-05T00:00:00Z'), end: Date.parse('2024-01-07T12:00:00.999Z') },
    ]);
    expect(values(encounter({ end: '2024-01' }), 'date')).toEqual([{ type: 'date', start: -Infinity, end: Date.parse('2024-01-31T23:59:59.999Z') }]);
    expect(values(encounter({}), 'date')).toEqual([]);

    const timed: Resource = { ...glucose, effectiveDateTime: undefined, effectiveTiming: { event: ['2024-02-03', '2024-01-10T08:00:00Z', '2024-01-20'] } } as Resource;
    expect(values(timed, 'date')).toEqual([{ type: 'date', start: Date.parse('2024-01-10T08:00:00Z'), end: Date.parse('2024-02-03T23:59:59.999Z') }]);
  });

  it('gives nothing for a date the resource does not have, or for a text that is no date', () => {
    expect(values({ resourceType: 'Patient' }, 'birthdate')).toEqual([]);
    const historical: Resource = { resourceType: 'Immunization', status: 'completed', vaccineCode: { text: 'Flu' }, patient: { reference: 'Patient/p1' }, occurrenceString: 'January 2012' };
    expect(values(historical, 'date')).toEqual([]);
  });
});

describe('extractValues: number and quantity', () => {
  it('gives a decimal the range of its significant figures and an integer none', () => {
    const assessment: Resource = { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [{ probabilityDecimal: 0.3 }, { probabilityRange: { low: { value: 0.1 }, high: { value: 0.25 } } }] };
    expect(values(assessment, 'probability')).toEqual([
      { type: 'number', value: 0.3, low: 0.25, high: 0.35 },
      { type: 'number', value: 0.1, low: 0.1, high: 0.25 },
    ]);
    const sequence: Resource = { resourceType: 'MolecularSequence', coordinateSystem: 0, variant: [{ start: 41245, end: 41246 }] };
    expect(values(sequence, 'variant-start')).toEqual([{ type: 'number', value: 41245, low: 41245, high: 41245 }]);
  });

  it.each([
    ['value-quantity', glucose, [{ type: 'quantity', ...decimalRange('5.4'), system: UCUM, code: 'mg/dL', unit: 'mg/dL' }]],
    ['value-quantity', bloodPressure, []],
    [
      'component-value-quantity',
      bloodPressure,
      [
        { type: 'quantity', ...decimalRange('120'), ...mmHg },
        { type: 'quantity', ...decimalRange('80.5'), ...mmHg },
      ],
    ],
  ])('%s of %s', (code, resource, expected) => {
    expect(values(resource as Resource, code)).toEqual(expected);
  });

  it('reads Money in ISO 4217, Age, and a Range open above', () => {
    const chargeItem: Resource = { resourceType: 'ChargeItem', status: 'billed', code: { text: 'Consult' }, subject: { reference: 'Patient/p1' }, priceOverride: { value: 40, currency: 'EUR' } };
    expect(values(chargeItem, 'price-override')).toEqual([{ type: 'quantity', value: 40, low: 39.5, high: 40.5, system: 'urn:iso:std:iso:4217', code: 'EUR' }]);
    const condition = (onset: object): Resource => ({ resourceType: 'Condition', subject: { reference: 'Patient/p1' }, ...onset });
    expect(values(condition({ onsetAge: { value: 52, unit: 'yr', system: UCUM, code: 'a' } }), 'onset-age')).toEqual([
      { type: 'quantity', value: 52, low: 51.5, high: 52.5, system: UCUM, code: 'a', unit: 'yr' },
    ]);
    expect(values(condition({ onsetRange: { low: { value: 40, system: UCUM, code: 'a' } } }), 'onset-age')).toEqual([
      { type: 'quantity', value: 40, low: 40, high: Infinity, system: UCUM, code: 'a' },
    ]);
  });

  it('gives nothing for a SampledData value', () => {
    const ekg: Resource = { ...glucose, valueQuantity: undefined, valueSampledData: { origin: { value: 2048 }, period: 10, dimensions: 1, data: '2041 2043' } } as Resource;
    expect(values(ekg, 'value-quantity')).toEqual([]);
  });
});

describe('extractValues: uri', () => {
  it('keeps the value as written, version included', () => {
    expect(values(patient, '_profile')).toEqual([{ type: 'uri', value: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient|6.1.0' }]);
    expect(values(patient, '_source')).toEqual([{ type: 'uri', value: 'http://example.org/emr#feed-7' }]);
    expect(values({ resourceType: 'ValueSet', status: 'active', url: 'http://example.org/ValueSet/colors' }, 'url')).toEqual([{ type: 'uri', value: 'http://example.org/ValueSet/colors' }]);
  });
});

describe('extractValues: composite', () => {
  it('pairs each code with its own value', () => {
    expect(values(glucose, 'code-value-quantity')).toEqual([
      {
        type: 'composite',
        components: [
          [
            { type: 'token', system: LOINC, code: '2339-0', text: 'glucose' },
            { type: 'token', text: 'glucose [mass/volume] in blood' },
          ],
          [{ type: 'quantity', ...decimalRange('5.4'), system: UCUM, code: 'mg/dL', unit: 'mg/dL' }],
        ],
      },
    ]);
    expect(values(bloodPressure, 'component-code-value-quantity')).toEqual([
      { type: 'composite', components: [[systolic], [{ type: 'quantity', ...decimalRange('120'), ...mmHg }]] },
      { type: 'composite', components: [[diastolic], [{ type: 'quantity', ...decimalRange('80.5'), ...mmHg }]] },
    ]);
  });

  it('reads code-value-date, whose R4 component is written `value.ofType(DateTime)`', () => {
    const dated: Resource = { ...glucose, valueQuantity: undefined, valueDateTime: '2020-05' } as Resource;
    expect(values(dated, 'code-value-date')).toEqual([{ type: 'composite', components: [values(glucose, 'code'), [date('2020-05')]] }]);
  });

  it('leaves out a composite value that lacks a component', () => {
    // The panel has a code but no value: only its components pair up.
    expect(values(bloodPressure, 'code-value-quantity')).toEqual([]);
    expect(values(bloodPressure, 'combo-code-value-quantity')).toHaveLength(2);
  });

  it('evaluates components that read %resource', () => {
    const sequence: Resource = {
      resourceType: 'MolecularSequence',
      coordinateSystem: 0,
      referenceSeq: { chromosome: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/chromosome-human', code: '1' }] } },
      variant: [{ start: 22125503, end: 22125504 }],
    };
    expect(values(sequence, 'chromosome-variant-coordinate')).toEqual([
      {
        type: 'composite',
        components: [
          [{ type: 'token', system: 'http://terminology.hl7.org/CodeSystem/chromosome-human', code: '1' }],
          [{ type: 'number', value: 22125503, low: 22125503, high: 22125503 }],
          [{ type: 'number', value: 22125504, low: 22125504, high: 22125504 }],
        ],
      },
    ]);
  });
});

describe('extractValues: special', () => {
  it('gives nothing for Location near, which has no value form', () => {
    expect(values({ resourceType: 'Location', position: { longitude: 6.02, latitude: 47.24 } }, 'near')).toEqual([]);
  });
});
