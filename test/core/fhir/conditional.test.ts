/** Conditional criteria: parsed strictly, refused when empty or shaping results; decided in process. */
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { conditionalUpdateId, criteriaOf, ifNoneExistCriteria, matchesInProcess, parseConditionalUrl, referenceTarget, singleMatch } from '../../../core/fhir/conditional.js';
import { FhirError } from '../../../core/errors.js';
import { parseSearchRequest } from '../../../core/fhir/interactions.js';

function failure(run: () => unknown): FhirError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FhirError);
    return error as FhirError;
  }
  throw new Error('expected a FhirError');
}

describe('parsing criteria', () => {
  it('reads a conditional URL, decoding the query', () => {
    expect(parseConditionalUrl('Patient?identifier=http%3A%2F%2Fx%7C1&gender=male')).toEqual({
      resourceType: 'Patient',
      parameters: { identifier: ['http://x|1'], gender: ['male'] },
      text: 'Patient?identifier=http://x|1&gender=male',
    });
  });

  it('takes If-None-Exist with or without the type in front', () => {
    expect(ifNoneExistCriteria('Patient', 'identifier=a|b').parameters).toEqual({ identifier: ['a|b'] });
    expect(ifNoneExistCriteria('Patient', 'Patient?identifier=a|b').parameters).toEqual({ identifier: ['a|b'] });
  });

  it.each([
    ['no criteria', () => criteriaOf('Patient', {}), /needs search criteria/],
    ['only empty values', () => criteriaOf('Patient', { identifier: [''] }), /needs search criteria/],
    ['only format parameters', () => criteriaOf('Patient', { _format: ['json'] }), /needs search criteria/],
    ['a result parameter', () => criteriaOf('Patient', { identifier: ['x'], _count: ['1'] }), /_count/],
    ['a result parameter with a modifier', () => criteriaOf('Patient', { identifier: ['x'], '_include:iterate': ['*'] }), /_include:iterate/],
    ['an unknown type', () => parseConditionalUrl('Unicorn?identifier=x', 'Bundle.entry[0].request.url'), /not a conditional URL/],
  ])('refuses %s with 400', (_name, run, says) => {
    const error = failure(run);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(says);
  });

  it('says where the criteria were written', () => {
    expect(failure(() => parseConditionalUrl('Patient?', 'Bundle.entry[3].request.url')).issues[0].expression).toEqual(['Bundle.entry[3].request.url']);
  });
});

describe('deciding matches', () => {
  const criteria = criteriaOf('Patient', { identifier: ['a|1'] });
  const patient = (id: string, value = '1'): Resource => ({ resourceType: 'Patient', id, identifier: [{ system: 'a', value }] });

  it('one match is the one; several are 412; a reference needs exactly one (400 otherwise)', () => {
    expect(singleMatch(criteria, [], 'x')).toBeUndefined();
    expect(singleMatch(criteria, [patient('1')], 'x')?.id).toBe('1');
    expect(failure(() => singleMatch(criteria, [patient('1'), patient('2')], 'x')).status).toBe(412);
    expect(referenceTarget(criteria, [patient('1')])).toBe('Patient/1');
    expect(failure(() => referenceTarget(criteria, [], 'here')).issues[0]).toMatchObject({ expression: ['here'], diagnostics: expect.stringMatching(/no resource/) });
    expect(failure(() => referenceTarget(criteria, [patient('1'), patient('2')])).status).toBe(400);
  });

  it('a conditional update writes the match, else the body id, else creates; a differing body id is 400', () => {
    expect(conditionalUpdateId(criteria, patient('m'), patient('m'))).toBe('m');
    expect(conditionalUpdateId(criteria, patient('m'), { resourceType: 'Patient' })).toBe('m');
    expect(conditionalUpdateId(criteria, undefined, patient('mine'))).toBe('mine');
    expect(conditionalUpdateId(criteria, undefined, { resourceType: 'Patient' })).toBeUndefined();
    expect(failure(() => conditionalUpdateId(criteria, patient('m'), patient('other'))).issues[0].expression).toEqual(['Patient.id']);
  });

  it('decides plain criteria in process, and leaves chains to the engine', () => {
    const query = (parameters: Record<string, string[]>) => parseSearchRequest({ resourceType: 'Patient', parameters, strict: true, defaultCount: 2, maxCount: 2 });
    expect(matchesInProcess(query({ identifier: ['a|1'] }), patient('1'))).toBe(true);
    expect(matchesInProcess(query({ identifier: ['a|2'] }), patient('1'))).toBe(false);
    expect(matchesInProcess(query({ identifier: ['a|1'] }), { resourceType: 'Organization', id: 'o', identifier: [{ system: 'a', value: '1' }] })).toBe(false);
    expect(matchesInProcess(query({ 'organization.name': ['clinic'] }), patient('1'))).toBeUndefined();
  });
});
