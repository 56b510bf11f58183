import { describe, expect, it } from 'vitest';
import { resourceTypes } from '../../../core/r4/definitions.js';
import { patientCompartmentParameters, searchParameter, searchParameters } from '../../../core/r4/search-parameters.js';

const RESOURCE_LEVEL = ['_id', '_lastUpdated', '_profile', '_security', '_source', '_tag'];

describe('searchParameters', () => {
  it('gives every resource type the Resource-level parameters, re-rooted on the type', () => {
    for (const resourceType of resourceTypes()) {
      const codes = [...searchParameters(resourceType).keys()];
      expect(codes).toEqual(expect.arrayContaining(RESOURCE_LEVEL));
    }
    expect(searchParameter('Patient', '_lastUpdated')).toEqual({ code: '_lastUpdated', type: 'date', expression: 'Patient.meta.lastUpdated' });
    expect(searchParameter('Binary', '_id')?.expression).toBe('Binary.id');
  });

  it('leaves out the parameters without an expression, and those that are not R4', () => {
    for (const code of ['_text', '_content', '_query']) {
      expect(searchParameter('Patient', code)).toBeUndefined();
    }
    // Medplum ships DeviceDefinition `classification` from R5.
    expect(searchParameter('DeviceDefinition', 'classification')).toBeUndefined();
  });

  it('narrows a shared expression to the parts of the type', () => {
    expect(searchParameter('AllergyIntolerance', 'patient')).toMatchObject({ type: 'reference', expression: 'AllergyIntolerance.patient', targets: ['Patient'] });
    expect(searchParameter('CarePlan', 'patient')?.expression).toBe('CarePlan.subject.where(resolve() is Patient)');
    expect(searchParameter('Observation', 'value-date')?.expression).toBe('(Observation.value.ofType(dateTime)) | (Observation.value.ofType(Period))');
    expect(searchParameter('Observation', 'value-string')?.expression).toBe('(Observation.value.ofType(string)) | (Observation.value.ofType(CodeableConcept)).text');
    expect(searchParameter('InsurancePlan', 'name')?.expression).toBe('InsurancePlan.name | InsurancePlan.alias');
    for (const resourceType of resourceTypes()) {
      for (const { expression } of searchParameters(resourceType).values()) {
        expect(expression).toMatch(new RegExp(`^\\(*${resourceType}\\b`));
      }
    }
  });

  it('resolves composite components to their parameter code, type and relative expression', () => {
    expect(searchParameter('Observation', 'code-value-quantity')).toEqual({
      code: 'code-value-quantity',
      type: 'composite',
      expression: 'Observation',
      components: [
        { code: 'code', type: 'token', expression: 'code' },
        { code: 'value-quantity', type: 'quantity', expression: 'value.ofType(Quantity)' },
      ],
    });
  });

  it('is cached per type', () => {
    expect(searchParameters('Observation')).toBe(searchParameters('Observation'));
  });

  it('refuses a name that is not an R4 resource type', () => {
    expect(() => searchParameters('Bot')).toThrow('Not an R4 resource type: Bot');
  });
});

describe('patientCompartmentParameters', () => {
  it('follows the R4 Patient CompartmentDefinition', () => {
    expect(patientCompartmentParameters('Observation')).toEqual(['subject', 'performer']);
    expect(patientCompartmentParameters('AllergyIntolerance')).toEqual(['patient', 'recorder', 'asserter']);
    expect(patientCompartmentParameters('Patient')).toEqual(['link']);
    expect(patientCompartmentParameters('Organization')).toEqual([]);
  });

  it('names only parameters the type has', () => {
    for (const resourceType of resourceTypes()) {
      for (const code of patientCompartmentParameters(resourceType)) {
        expect(searchParameter(resourceType, code), `${resourceType}.${code}`).toBeDefined();
      }
    }
  });
});
