/** Finding and replacing links inside resources: every depth, only what is asked. */
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { isConditionalReference, isTemporaryReference, referencesIn, replaceFullUrls, replaceReferences } from '../../../core/r4/references.js';

const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'x' },
  subject: { reference: 'urn:uuid:p' },
  performer: [{ reference: 'Practitioner?identifier=http://npi|1' }, { display: 'no reference' }],
  extension: [{ url: 'http://example.org/ext', valueReference: { reference: 'urn:uuid:o' } }],
  contained: [{ resourceType: 'Specimen', id: 's1', subject: { reference: 'urn:uuid:p' } }],
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.3.25', value: 'urn:uuid:unrelated' }],
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><a href="urn:uuid:o">clinic</a> <img src="urn:uuid:x"/></div>' },
} as unknown as Resource;

describe('referencesIn', () => {
  it('finds every Reference.reference with its path, in extensions and contained resources too', () => {
    expect(referencesIn(observation, 'Bundle.entry[2].resource')).toEqual([
      { path: 'Bundle.entry[2].resource.subject.reference', reference: 'urn:uuid:p' },
      { path: 'Bundle.entry[2].resource.performer[0].reference', reference: 'Practitioner?identifier=http://npi|1' },
      { path: 'Bundle.entry[2].resource.extension[0].valueReference.reference', reference: 'urn:uuid:o' },
      { path: 'Bundle.entry[2].resource.contained[0].subject.reference', reference: 'urn:uuid:p' },
    ]);
  });
});

describe('replaceFullUrls', () => {
  it('replaces exact matches anywhere and narrative links, leaving every other string alone', () => {
    const replaced = replaceFullUrls(observation, new Map([['urn:uuid:p', 'Patient/1'], ['urn:uuid:o', 'Organization/2']])) as any;
    expect(replaced.subject.reference).toBe('Patient/1');
    expect(replaced.extension[0].valueReference.reference).toBe('Organization/2');
    expect(replaced.contained[0].subject.reference).toBe('Patient/1');
    expect(replaced.text.div).toBe('<div xmlns="http://www.w3.org/1999/xhtml"><a href="Organization/2">clinic</a> <img src="urn:uuid:x"/></div>');
    expect(replaced.identifier).toEqual([{ system: 'urn:oid:2.16.840.1.113883.4.3.25', value: 'urn:uuid:unrelated' }]);
    expect(replaced.performer[0].reference).toBe('Practitioner?identifier=http://npi|1');
  });

  it('does not change its input', () => {
    const before = JSON.stringify(observation);
    replaceFullUrls(observation, new Map([['urn:uuid:p', 'Patient/1']]));
    expect(JSON.stringify(observation)).toBe(before);
  });
});

describe('replaceReferences', () => {
  it('replaces only Reference.reference values', () => {
    const resource = { resourceType: 'Basic', code: { text: 'Patient?x=1' }, subject: { reference: 'Patient?x=1' } } as unknown as Resource;
    expect(replaceReferences(resource, new Map([['Patient?x=1', 'Patient/9']]))).toEqual({ resourceType: 'Basic', code: { text: 'Patient?x=1' }, subject: { reference: 'Patient/9' } });
  });
});

describe('kinds of reference', () => {
  it.each([
    ['urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a', true, false],
    ['urn:oid:1.2.3', true, false],
    ['Patient?identifier=a|b', false, true],
    ['Unicorn?identifier=a|b', false, false],
    ['Patient/123', false, false],
    ['http://example.org/fhir/Patient/1', false, false],
  ])('%s: temporary %s, conditional %s', (reference, temporary, conditional) => {
    expect(isTemporaryReference(reference)).toBe(temporary);
    expect(isConditionalReference(reference)).toBe(conditional);
  });
});
