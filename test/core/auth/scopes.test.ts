/** The SMART App Launch 2.0 scope grammar (scopes-and-launch-context.html), v1 aliases included. */
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../../core/errors.js';
import { formatScope, parseScope, parseScopes } from '../../../core/auth/scopes.js';

describe('parseScope', () => {
  it.each([
    ['patient/*.rs', 'patient', '*', 'rs'],
    ['user/*.cruds', 'user', '*', 'cruds'],
    ['system/*.cruds', 'system', '*', 'cruds'],
    ['patient/Observation.rs', 'patient', 'Observation', 'rs'],
    ['user/Patient.r', 'user', 'Patient', 'r'],
    ['user/Encounter.cu', 'user', 'Encounter', 'cu'],
    ['system/Patient.s', 'system', 'Patient', 's'],
    ['patient/MedicationRequest.crud', 'patient', 'MedicationRequest', 'crud'],
    ['user/Appointment.d', 'user', 'Appointment', 'd'],
    ['user/Observation.cds', 'user', 'Observation', 'cds'],
    // SMART 1.0 permissions are the v2 sets they stand for.
    ['patient/Observation.read', 'patient', 'Observation', 'rs'],
    ['user/*.write', 'user', '*', 'cud'],
    ['system/*.*', 'system', '*', 'cruds'],
    ['patient/*.read', 'patient', '*', 'rs'],
  ])('%s grants %s/%s.%s', (text, context, resourceType, permissions) => {
    const scope = parseScope(text);
    expect(scope).toEqual({ context, resourceType, permissions: [...permissions] });
  });

  it.each(['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'launch/encounter', 'offline_access', 'online_access', 'email', 'aws.cognito.signin.user.admin'])(
    '%s is not a resource scope: ignored',
    (text) => {
      expect(parseScope(text)).toBeUndefined();
    },
  );

  it('ignores a scope narrowed by query parameters, which it cannot enforce', () => {
    expect(parseScope('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory')).toBeUndefined();
  });

  it.each([
    ['permissions out of cruds order', 'patient/Observation.sr'],
    ['a repeated permission', 'user/Patient.rrs'],
    ['an unknown permission letter', 'user/Patient.rx'],
    ['no permissions', 'user/Patient.'],
    ['no dot', 'user/Patient'],
    ['no resource type', 'patient/.rs'],
    ['a lower-case type', 'user/observation.rs'],
    ['an extra segment', 'user/Patient.rs.x'],
    ['upper-case permissions', 'user/Patient.RS'],
    ['a mix of v1 and v2', 'user/Patient.readrs'],
    ['an empty type with v1', 'system/.read'],
    ['a path in the type', 'user/Patient/123.r'],
  ])('refuses %s (%s) with 401', (_why, text) => {
    let error: unknown;
    try {
      parseScope(text);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(401);
    expect((error as FhirError).message).toContain(text);
  });
});

describe('parseScopes', () => {
  it('keeps the resource scopes of a space-separated claim', () => {
    expect(parseScopes('openid fhirUser launch/patient patient/Observation.rs  offline_access patient/Patient.read').map(formatScope)).toEqual([
      'patient/Observation.rs',
      'patient/Patient.rs',
    ]);
  });

  it('reads an scp array the same way', () => {
    expect(parseScopes(['system/*.rs', 'openid']).map(formatScope)).toEqual(['system/*.rs']);
  });

  it('fails the whole claim on one malformed scope', () => {
    expect(() => parseScopes('user/*.rs user/*.sr')).toThrow(/user\/\*\.sr/);
  });
});
