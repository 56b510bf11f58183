import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DefinitionsFile } from '../../../core/r4/definitions.js';
import { DEFINITION_FILES, isResourceType, loadedResourceDefinitions, resourceTypes } from '../../../core/r4/definitions.js';
import { validateResource } from '../../../core/fhir/validation.js';
import { buildDefinitions } from '../../../scripts/build-definitions.js';

describe('lazy loading', () => {
  // Vitest gives each test file fresh modules, so nothing is loaded before this test.
  it('loads only the definitions of the types a resource contains', () => {
    validateResource({ resourceType: 'Patient', gender: 'female' });
    expect([...loadedResourceDefinitions()]).toEqual(['Patient']);

    validateResource({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } }] });
    expect([...loadedResourceDefinitions()].sort()).toEqual(['Bundle', 'Observation', 'Patient']);
  });
});

describe('resource types', () => {
  it('lists the 146 concrete R4 resource types, sorted', () => {
    const types = resourceTypes();

    expect(types).toHaveLength(146);
    expect(types).toEqual([...types].sort());
  });

  it.each([
    ['Patient', true],
    ['Parameters', true],
    ['DomainResource', false],
    ['SubscriptionStatus', false], // R4B; Medplum ships its definition beside the R4 ones
    ['patient', false],
  ])('isResourceType(%s) is %s', (name, expected) => {
    expect(isResourceType(name)).toBe(expected);
  });
});

describe('buildDefinitions', () => {
  const outDir = join(mkdtempSync(join(tmpdir(), 'fhir-definitions-')), 'out');
  afterAll(() => rmSync(join(outDir, '..'), { recursive: true, force: true }));

  function readOutput<T>(file: string): T {
    return JSON.parse(readFileSync(join(outDir, file), 'utf8')) as T;
  }

  it('builds once and then finds the output up to date', () => {
    expect(buildDefinitions(outDir).built).toBe(true);
    expect(buildDefinitions(outDir).built).toBe(false);
  });

  it('writes the expanded required value sets beside the definitions that bind them', () => {
    const patient = readOutput<DefinitionsFile>(DEFINITION_FILES.resource('Patient'));
    const datatypes = readOutput<DefinitionsFile>(DEFINITION_FILES.datatypes);

    expect(patient.structureDefinitions.map((sd) => sd.type)).toEqual(['Patient']);
    expect(patient.requiredValueSets['http://hl7.org/fhir/ValueSet/administrative-gender']).toEqual({
      'http://hl7.org/fhir/administrative-gender': ['female', 'male', 'other', 'unknown'],
    });
    // name-use nests "maiden" under "old" in its code system.
    expect(datatypes.requiredValueSets['http://hl7.org/fhir/ValueSet/name-use']['http://hl7.org/fhir/name-use']).toContain('maiden');
  });

  it('strips documentation but keeps what validation reads', () => {
    const patient = readOutput<DefinitionsFile>(DEFINITION_FILES.resource('Patient'));
    const gender = patient.structureDefinitions[0].snapshot?.element.find((element) => element.path === 'Patient.gender');

    expect(gender).toMatchObject({ min: 0, max: '1', type: [{ code: 'code' }], binding: { strength: 'required' } });
    expect(gender).not.toHaveProperty('definition');
    expect(gender).not.toHaveProperty('mapping');
  });

  it('reports the required bindings it cannot check', () => {
    const report = readOutput<{ unchecked: { valueSet: string; elements: string[] }[] }>(DEFINITION_FILES.bindingReport);
    const mimeTypes = report.unchecked.find((entry) => entry.valueSet === 'http://hl7.org/fhir/ValueSet/mimetypes');

    expect(mimeTypes?.elements).toContain('Attachment.contentType');
    expect(report.unchecked.map((entry) => entry.valueSet)).not.toContain('http://hl7.org/fhir/ValueSet/administrative-gender');
  });
});
