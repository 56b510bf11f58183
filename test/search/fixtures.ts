/**
 * The search conformance fixtures: a small, hand-written world whose every value was chosen for
 * a case in `cases.ts` (R4 search.html). Ids are stable and unique across types, so a case can
 * name a match by id alone. Written in load order: targets before the resources pointing at them.
 *
 * Edge cases on purpose, each used by at least one case:
 * - names with an accent (Chálmers, Élodie), a maiden name, a given name equal to another
 *   patient's family name, a name with only `text`, a patient with no name at all;
 * - identifiers with and without a system, with a type (and type text), with `,` and `|` inside;
 * - birth dates at year, month and day precision; a deceased date and deceased booleans;
 * - `active` true, false and absent; a general practitioner as relative reference, as external
 *   absolute URL, as logical (identifier-only) reference, and as an Organization;
 * - Observation dates at second, day, month and year precision, a closed Period and a Period
 *   with no end, a time zone offset; quantities 100, 99.6 and 100.04 (search-side precision),
 *   with a UCUM code, with only a `unit`; blood pressure components whose codes and values
 *   cross (composite binding); CodeableConcepts with several codings, with text only;
 * - meta.tag with and without a system, meta.profile, meta.security, meta.source.
 *
 * Decimal precision cannot be carried by a fixture: JSON.parse reads `100.0` as `100`, on the
 * server and here, so stored precision is never relied upon; search values carry it instead.
 */
import type {
  Condition,
  Encounter,
  Observation,
  Organization,
  Patient,
  Practitioner,
  Resource,
  RiskAssessment,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const UCUM = 'http://unitsofmeasure.org';
export const LAB_CODES = 'http://acme.org/lab-codes';
export const TAGS = 'http://example.org/tags';
export const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
export const NPI = 'http://hl7.org/fhir/sid/us-npi';
export const SSN = 'http://example.org/ssn';
export const MRN = 'urn:oid:1.2.36.146.595.217.0.1';
export const ORG_IDS = 'http://example.org/org-ids';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
export const EXTERNAL_PRACTITIONER = 'http://external.example.org/fhir/Practitioner/ext-1';

const category = (code: string) => [{ coding: [{ system: OBSERVATION_CATEGORY, code }] }];
const mgdl = (value: number) => ({ value, unit: 'mg/dL', system: UCUM, code: 'mg/dL' });
const mmHg = (value: number) => ({ value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });
const glucoseCoding = { system: LOINC, code: '2339-0', display: 'Glucose [Mass/volume] in Blood' };
const clinical = (code: string) => ({ coding: [{ system: CONDITION_CLINICAL, code }] });

// ---- Organizations -------------------------------------------------------------------------

const organizations: Organization[] = [
  {
    resourceType: 'Organization',
    id: 'org-acme',
    active: true,
    name: 'Acme Healthcare',
    alias: ['ACME'],
    identifier: [{ system: ORG_IDS, value: 'ACME-001' }],
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }],
    address: [{ city: 'Boston', state: 'MA' }],
  },
  {
    resourceType: 'Organization',
    id: 'org-acme-lab',
    active: true,
    name: 'Acme Laboratory',
    identifier: [{ system: ORG_IDS, value: 'ACME-LAB' }],
    partOf: { reference: 'Organization/org-acme' },
  },
  {
    resourceType: 'Organization',
    id: 'org-acme-micro',
    active: true,
    name: 'Acme Microbiology',
    partOf: { reference: 'Organization/org-acme-lab' },
  },
  {
    resourceType: 'Organization',
    id: 'org-general',
    active: false,
    name: 'General Hospital',
    // A comma and a pipe inside token values: searchable only when escaped (search.html#escaping).
    identifier: [
      { system: 'urn:oid:2.16.840.1.113883.4.7', value: 'GH,77' },
      { system: ORG_IDS, value: 'GEN|01' },
    ],
  },
  { resourceType: 'Organization', id: 'org-widgets', name: 'Widgets, Inc.' },
];

// ---- Practitioners -------------------------------------------------------------------------

const practitioners: Practitioner[] = [
  {
    resourceType: 'Practitioner',
    id: 'prac-house',
    meta: { tag: [{ system: TAGS, code: 'vip' }] },
    active: true,
    name: [{ family: 'House', given: ['Gregory'] }],
    gender: 'male',
    identifier: [{ system: NPI, value: '1111111111' }],
    telecom: [{ system: 'email', value: 'house@example.org' }],
  },
  {
    resourceType: 'Practitioner',
    id: 'prac-cuddy',
    active: true,
    name: [{ family: 'Cuddy', given: ['Lisa'] }],
    gender: 'female',
    identifier: [{ system: NPI, value: '2222222222' }],
  },
  {
    resourceType: 'Practitioner',
    id: 'prac-wilson',
    active: false,
    name: [{ family: 'Wilson', given: ['James'] }],
    gender: 'male',
  },
];

// ---- Patients ------------------------------------------------------------------------------

const patients: Patient[] = [
  {
    // The R4 example patient, trimmed: three names (official, usual, maiden).
    resourceType: 'Patient',
    id: 'pat-chalmers',
    meta: {
      tag: [{ system: TAGS, code: 'vip', display: 'VIP' }],
      profile: ['http://example.org/StructureDefinition/vip-patient'],
      security: [{ system: CONFIDENTIALITY, code: 'R' }],
      source: 'http://example.org/source/ehr-a',
    },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Peter James Chalmers</div>' },
    identifier: [
      { use: 'usual', type: { coding: [{ system: V2_0203, code: 'MR' }], text: 'Medical Record Number' }, system: MRN, value: '12345' },
      { system: SSN, value: '999-11-2222' },
    ],
    active: true,
    name: [
      { use: 'official', family: 'Chalmers', given: ['Peter', 'James'] },
      { use: 'usual', given: ['Jim'] },
      { use: 'maiden', family: 'Windsor', given: ['Peter', 'James'], period: { end: '2002' } },
    ],
    telecom: [
      { system: 'phone', value: '(03) 5555 6473', use: 'work' },
      { system: 'email', value: 'peter.chalmers@example.org' },
    ],
    gender: 'male',
    birthDate: '1974-12-25',
    deceasedBoolean: false,
    address: [{ use: 'home', line: ['534 Erewhon St'], city: 'PleasantVille', state: 'Vic', postalCode: '3999', country: 'AU' }],
    generalPractitioner: [{ reference: 'Practitioner/prac-house' }],
    managingOrganization: { reference: 'Organization/org-acme' },
  },
  {
    resourceType: 'Patient',
    id: 'pat-chalmers-accent',
    active: false,
    name: [{ family: 'Chálmers', given: ['Élodie'] }],
    telecom: [{ system: 'email', value: 'elodie@example.fr' }],
    gender: 'female',
    birthDate: '1974-12',
    address: [{ city: 'Paris', postalCode: '75001', country: 'FR' }],
    // An external absolute URL, and a logical reference (identifier only, no literal reference).
    generalPractitioner: [
      { reference: EXTERNAL_PRACTITIONER },
      { identifier: { system: NPI, value: '2222222222' }, display: 'Dr Cuddy' },
    ],
  },
  {
    resourceType: 'Patient',
    id: 'pat-windsor',
    meta: { security: [{ system: CONFIDENTIALITY, code: 'V' }], source: 'http://example.org/source/ehr-b' },
    identifier: [{ system: SSN, value: '999-55-6666' }],
    name: [{ family: 'Windsor', given: ['Anne'] }],
    gender: 'female',
    birthDate: '1974',
    deceasedDateTime: '2015-03-01T10:00:00Z',
    address: [{ city: 'London', postalCode: 'SW1A 1AA', country: 'GB' }],
    generalPractitioner: [{ reference: 'Practitioner/prac-cuddy' }],
    managingOrganization: { reference: 'Organization/org-general' },
  },
  {
    resourceType: 'Patient',
    id: 'pat-baby',
    meta: {
      tag: [
        { system: TAGS, code: 'vip' },
        { system: TAGS, code: 'newborn' },
      ],
      profile: ['http://example.org/StructureDefinition/research-patient'],
    },
    identifier: [{ type: { coding: [{ system: V2_0203, code: 'MR' }] }, system: MRN, value: '67890' }],
    active: true,
    name: [{ family: 'Chalmers', given: ['Tiny'] }],
    gender: 'male',
    birthDate: '2001-02-03',
    deceasedBoolean: false,
    address: [{ city: 'PleasantVille', postalCode: '3999', country: 'AU' }],
    // A general practitioner may be an Organization.
    generalPractitioner: [{ reference: 'Organization/org-acme' }],
    managingOrganization: { reference: 'Organization/org-acme-lab' },
  },
  {
    resourceType: 'Patient',
    id: 'pat-smith',
    // A tag without a system: matched by `_tag=vip` and `_tag=|vip`, not by `_tag=[system]|vip`.
    meta: { tag: [{ code: 'vip' }], security: [{ system: CONFIDENTIALITY, code: 'N' }] },
    identifier: [{ system: SSN, value: '999-33-4444' }],
    active: true,
    // "Chalmers" as a given name: found by `name` and `given`, not by `family`.
    name: [{ family: 'Smith', given: ['Aly', 'Chalmers'] }],
    telecom: [{ system: 'phone', value: '555-0100' }],
    gender: 'female',
    birthDate: '1990-06-15',
    address: [{ line: ['12 Main St, Apt 4'], city: 'Boston', state: 'MA', postalCode: '02134', country: 'US' }],
    generalPractitioner: [{ reference: 'Practitioner/prac-house' }],
    managingOrganization: { reference: 'Organization/org-acme' },
  },
  {
    resourceType: 'Patient',
    id: 'pat-smithson',
    identifier: [{ type: { coding: [{ system: V2_0203, code: 'DL' }] }, system: 'urn:oid:2.16.840.1.113883.4.3.25', value: 'S1234' }],
    active: false,
    name: [{ family: 'Smithson', given: ['Bob'] }],
    gender: 'male',
    birthDate: '1985-03-10',
    address: [
      { city: 'New York', state: 'NY', postalCode: '10001' },
      { use: 'old', city: 'Boston', state: 'MA' },
    ],
    generalPractitioner: [{ reference: 'Practitioner/prac-wilson' }],
  },
  // No gender, no birth date, a name that is text only.
  { resourceType: 'Patient', id: 'pat-text-only', name: [{ text: 'Madonna' }] },
  // No name at all; an identifier without a system.
  { resourceType: 'Patient', id: 'pat-anonymous', gender: 'other', identifier: [{ value: 'ANON-1' }] },
];

// ---- Encounters ----------------------------------------------------------------------------

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

const encounters: Encounter[] = [
  {
    resourceType: 'Encounter',
    id: 'enc-1',
    status: 'finished',
    class: { system: ACT_CODE, code: 'AMB' },
    type: [{ coding: [{ system: SNOMED, code: '185349003', display: 'Encounter for check up' }] }],
    subject: { reference: 'Patient/pat-chalmers' },
    participant: [{ individual: { reference: 'Practitioner/prac-house' } }],
    period: { start: '2023-05-10T08:00:00Z', end: '2023-05-10T09:00:00Z' },
    serviceProvider: { reference: 'Organization/org-acme' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-2',
    status: 'in-progress',
    class: { system: ACT_CODE, code: 'IMP' },
    subject: { reference: 'Patient/pat-windsor' },
    participant: [{ individual: { reference: 'Practitioner/prac-cuddy' } }],
    // Still going: a Period without an end reaches to +infinity.
    period: { start: '2023-06-01T09:00:00Z' },
    serviceProvider: { reference: 'Organization/org-general' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-3',
    status: 'finished',
    class: { system: ACT_CODE, code: 'EMER' },
    subject: { reference: 'Patient/pat-smith' },
    participant: [{ individual: { reference: 'Practitioner/prac-house' } }],
    period: { start: '2024-01-15', end: '2024-01-17' },
    serviceProvider: { reference: 'Organization/org-general' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-4',
    status: 'planned',
    class: { system: ACT_CODE, code: 'AMB' },
    subject: { reference: 'Patient/pat-baby' },
  },
];

// ---- Observations --------------------------------------------------------------------------

const observations: Observation[] = [
  {
    resourceType: 'Observation',
    id: 'obs-glu-100',
    meta: { tag: [{ system: TAGS, code: 'reviewed' }], source: 'http://example.org/source/lab' },
    status: 'final',
    category: category('laboratory'),
    code: { coding: [glucoseCoding, { system: LAB_CODES, code: 'GLU', display: 'Glucose' }], text: 'Blood glucose' },
    subject: { reference: 'Patient/pat-chalmers' },
    encounter: { reference: 'Encounter/enc-1' },
    effectiveDateTime: '2023-05-10T08:30:00Z',
    performer: [{ reference: 'Practitioner/prac-house' }, { reference: 'Organization/org-acme-lab' }],
    valueQuantity: mgdl(100),
  },
  {
    resourceType: 'Observation',
    id: 'obs-glu-99-6',
    status: 'final',
    category: category('laboratory'),
    code: { coding: [glucoseCoding] },
    subject: { reference: 'Patient/pat-chalmers' },
    effectiveDateTime: '2023-05',
    performer: [{ reference: 'Practitioner/prac-cuddy' }],
    valueQuantity: mgdl(99.6),
  },
  {
    resourceType: 'Observation',
    id: 'obs-glu-100-04',
    status: 'preliminary',
    // Only a local code; a quantity with a human unit and no system or code.
    code: { coding: [{ system: LAB_CODES, code: 'GLU', display: 'Glucose' }], text: 'Glucose' },
    subject: { reference: 'Patient/pat-baby' },
    effectiveDateTime: '2023',
    valueQuantity: { value: 100.04, unit: 'mg/dL' },
  },
  {
    resourceType: 'Observation',
    id: 'obs-glu-120',
    status: 'amended',
    category: category('laboratory'),
    code: { coding: [glucoseCoding] },
    subject: { reference: 'Patient/pat-windsor' },
    effectivePeriod: { start: '2023-06-01T10:00:00Z', end: '2023-06-01T11:00:00Z' },
    valueQuantity: mgdl(120),
  },
  {
    resourceType: 'Observation',
    id: 'obs-glu-mmol',
    status: 'final',
    category: category('laboratory'),
    code: { coding: [{ system: LOINC, code: '15074-8', display: 'Glucose [Moles/volume] in Blood' }] },
    subject: { reference: 'Patient/pat-smith' },
    effectiveDateTime: '2024-01-15T09:00:00Z',
    valueQuantity: { value: 5.5, unit: 'mmol/L', system: UCUM, code: 'mmol/L' },
  },
  {
    resourceType: 'Observation',
    id: 'obs-weight',
    status: 'final',
    category: category('vital-signs'),
    code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }] },
    subject: { reference: 'Patient/pat-smith' },
    effectivePeriod: { start: '2024-02-01' },
    valueQuantity: { value: 72, unit: 'kg', system: UCUM, code: 'kg' },
  },
  {
    resourceType: 'Observation',
    id: 'obs-bp-1',
    status: 'final',
    category: category('vital-signs'),
    code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel with all children optional' }] },
    subject: { reference: 'Patient/pat-chalmers' },
    encounter: { reference: 'Encounter/enc-1' },
    effectiveDateTime: '2023-05-10T08:35:00Z',
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] }, valueQuantity: mmHg(120) },
      { code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] }, valueQuantity: mmHg(80) },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'obs-bp-2',
    status: 'final',
    category: category('vital-signs'),
    code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel with all children optional' }] },
    subject: { reference: 'Patient/pat-windsor' },
    effectiveDateTime: '2023-07-01',
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] }, valueQuantity: mmHg(135) },
      { code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] }, valueQuantity: mmHg(88) },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'obs-smoking',
    status: 'final',
    category: category('social-history'),
    code: { coding: [{ system: LOINC, code: '72166-2', display: 'Tobacco smoking status' }] },
    subject: { reference: 'Patient/pat-windsor' },
    effectiveDateTime: '2022-11-20',
    valueCodeableConcept: { coding: [{ system: SNOMED, code: '8517006', display: 'Ex-smoker' }], text: 'Former smoker' },
  },
  {
    resourceType: 'Observation',
    id: 'obs-note',
    status: 'final',
    // A code that is text only; performed by a patient other than the subject.
    code: { text: 'Patient note' },
    subject: { reference: 'Patient/pat-smith' },
    performer: [{ reference: 'Patient/pat-chalmers' }],
    effectiveDateTime: '2024-03-01T12:00:00+01:00',
    valueString: 'Feeling much better today',
  },
  {
    resourceType: 'Observation',
    id: 'obs-panel',
    status: 'final',
    category: category('laboratory'),
    code: { coding: [{ system: LOINC, code: '24323-8', display: 'Comprehensive metabolic 2000 panel - Serum or Plasma' }] },
    subject: { reference: 'Patient/pat-chalmers' },
    effectiveDateTime: '2023-05-10',
    hasMember: [{ reference: 'Observation/obs-glu-100' }, { reference: 'Observation/obs-glu-99-6' }],
  },
  {
    resourceType: 'Observation',
    id: 'obs-hr',
    status: 'entered-in-error',
    category: category('vital-signs'),
    code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/pat-baby' },
    effectiveDateTime: '2024-06-01T00:00:00Z',
    valueQuantity: { value: 88, unit: '/min', system: UCUM, code: '/min' },
  },
];

// ---- Conditions ----------------------------------------------------------------------------

const conditions: Condition[] = [
  {
    resourceType: 'Condition',
    id: 'cond-diabetes',
    clinicalStatus: clinical('active'),
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
    code: {
      coding: [
        { system: SNOMED, code: '44054006', display: 'Diabetes mellitus type 2' },
        { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11.9' },
      ],
    },
    subject: { reference: 'Patient/pat-chalmers' },
    onsetDateTime: '2015-06',
    recordedDate: '2015-07-01',
  },
  {
    resourceType: 'Condition',
    id: 'cond-hypertension',
    clinicalStatus: clinical('active'),
    code: { coding: [{ system: SNOMED, code: '38341003', display: 'Hypertensive disorder, systemic arterial (disorder)' }], text: 'High blood pressure' },
    subject: { reference: 'Patient/pat-windsor' },
    onsetPeriod: { start: '2010-01-01' },
    asserter: { reference: 'Practitioner/prac-cuddy' },
  },
  {
    resourceType: 'Condition',
    id: 'cond-flu',
    clinicalStatus: clinical('resolved'),
    code: { coding: [{ system: SNOMED, code: '6142004', display: 'Influenza' }] },
    subject: { reference: 'Patient/pat-smith' },
    encounter: { reference: 'Encounter/enc-3' },
    onsetDateTime: '2024-01-14',
    abatementDateTime: '2024-01-25',
  },
  {
    resourceType: 'Condition',
    id: 'cond-asthma',
    clinicalStatus: clinical('inactive'),
    code: { coding: [{ system: SNOMED, code: '195967001', display: 'Asthma' }] },
    subject: { reference: 'Patient/pat-chalmers' },
    onsetString: 'childhood',
  },
];

// ---- RiskAssessments (the `number` type: prediction.probability) ---------------------------

const riskAssessments: RiskAssessment[] = [
  { resourceType: 'RiskAssessment', id: 'risk-low', status: 'final', subject: { reference: 'Patient/pat-chalmers' }, prediction: [{ outcome: { text: 'Stroke' }, probabilityDecimal: 0.02 }] },
  { resourceType: 'RiskAssessment', id: 'risk-mid', status: 'final', subject: { reference: 'Patient/pat-windsor' }, prediction: [{ outcome: { text: 'Stroke' }, probabilityDecimal: 0.31 }] },
  { resourceType: 'RiskAssessment', id: 'risk-high', status: 'preliminary', subject: { reference: 'Patient/pat-smith' }, prediction: [{ outcome: { text: 'Heart attack' }, probabilityDecimal: 0.8 }] },
  {
    resourceType: 'RiskAssessment',
    id: 'risk-none',
    status: 'final',
    subject: { reference: 'Patient/pat-baby' },
    prediction: [{ outcome: { text: 'Stroke' }, qualitativeRisk: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/risk-probability', code: 'low' }] } }],
  },
];

// ---- Canonical resources (uri parameters, canonical references with |version) --------------

const valueSets: ValueSet[] = [
  { resourceType: 'ValueSet', id: 'vs-colors', url: 'http://example.org/fhir/ValueSet/colors', version: '1.0.0', name: 'Colors', status: 'active', compose: { include: [{ system: 'http://example.org/fhir/CodeSystem/colors' }] } },
  { resourceType: 'ValueSet', id: 'vs-colors-v2', url: 'http://example.org/fhir/ValueSet/colors', version: '2.0.0', name: 'Colors', status: 'draft', compose: { include: [{ system: 'http://example.org/fhir/CodeSystem/colors' }] } },
  { resourceType: 'ValueSet', id: 'vs-shapes', url: 'http://example.org/fhir/ValueSet/shapes', version: '1.0.0', name: 'Shapes', status: 'active', compose: { include: [{ system: 'http://example.org/fhir/CodeSystem/shapes' }] } },
  { resourceType: 'ValueSet', id: 'vs-loinc', url: 'http://loinc.org/vs/LL715-4', name: 'LL715_4', status: 'active', compose: { include: [{ system: LOINC }] } },
];

const structureDefinitions: StructureDefinition[] = [
  {
    resourceType: 'StructureDefinition',
    id: 'sd-vip-patient',
    url: 'http://example.org/StructureDefinition/vip-patient',
    version: '1.0.0',
    name: 'VipPatient',
    status: 'active',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient|4.0.1',
    derivation: 'constraint',
    differential: { element: [{ id: 'Patient', path: 'Patient' }] },
  },
  {
    resourceType: 'StructureDefinition',
    id: 'sd-research-patient',
    url: 'http://example.org/StructureDefinition/research-patient',
    version: '0.1.0',
    name: 'ResearchPatient',
    status: 'draft',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: 'http://example.org/StructureDefinition/vip-patient|1.0.0',
    derivation: 'constraint',
    differential: { element: [{ id: 'Patient', path: 'Patient' }] },
  },
  {
    resourceType: 'StructureDefinition',
    id: 'sd-plain-observation',
    url: 'http://example.org/StructureDefinition/plain-observation',
    version: '1.0.0',
    name: 'PlainObservation',
    status: 'active',
    kind: 'resource',
    abstract: false,
    type: 'Observation',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Observation',
    derivation: 'constraint',
    differential: { element: [{ id: 'Observation', path: 'Observation' }] },
  },
];

/** Every fixture, in load order. */
export const FIXTURES: readonly Resource[] = [
  ...organizations,
  ...practitioners,
  ...patients,
  ...encounters,
  ...observations,
  ...conditions,
  ...riskAssessments,
  ...valueSets,
  ...structureDefinitions,
];

/** Ids of one type's fixtures, in load order: the expected answer of an unfiltered search. */
export function idsOf(resourceType: string): string[] {
  return FIXTURES.filter((resource) => resource.resourceType === resourceType).map((resource) => resource.id!);
}
