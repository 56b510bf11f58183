/** Which scopes allow which interaction, and when the grant is confined to the launch patient. */
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../../core/auth/identity.js';
import { type Access, type AccessKind, authorize, patientCompartmentOf } from '../../../core/auth/policy.js';
import { parseScopes } from '../../../core/auth/scopes.js';
import { FhirError } from '../../../core/errors.js';
import type { TenantId } from '../../../core/tenant.js';

function identity(scope: string, patient?: string): Identity {
  return { tenant: 't1' as TenantId, subject: 'someone', scopes: parseScopes(scope), ...(patient && { patient }) };
}

function decision(who: Identity, access: Access): string {
  try {
    authorize(who, access);
  } catch (error) {
    expect(error).toBeInstanceOf(FhirError);
    expect((error as FhirError).status).toBe(403);
    return 'denied';
  }
  return patientCompartmentOf(who, access) === undefined ? 'allowed' : `confined to ${patientCompartmentOf(who, access)}`;
}

describe('authorize', () => {
  const cases: [scope: string, patient: string | undefined, kind: AccessKind, type: string, expected: string][] = [
    ['user/*.cruds', undefined, 'create', 'Patient', 'allowed'],
    ['user/*.cruds', undefined, 'delete', 'Observation', 'allowed'],
    ['user/*.cruds', undefined, 'search', 'Encounter', 'allowed'],
    ['system/*.cruds', undefined, 'update', 'Patient', 'allowed'],
    ['system/*.rs', undefined, 'read', 'Observation', 'allowed'],
    ['system/*.rs', undefined, 'create', 'Observation', 'denied'],
    ['user/Patient.rs', undefined, 'read', 'Patient', 'allowed'],
    ['user/Patient.rs', undefined, 'search', 'Patient', 'allowed'],
    ['user/Patient.rs', undefined, 'create', 'Patient', 'denied'],
    ['user/Patient.rs', undefined, 'update', 'Patient', 'denied'],
    ['user/Patient.rs', undefined, 'delete', 'Patient', 'denied'],
    ['user/Patient.rs', undefined, 'read', 'Observation', 'denied'],
    ['user/Patient.r', undefined, 'search', 'Patient', 'denied'],
    ['user/Patient.s', undefined, 'read', 'Patient', 'denied'],
    ['user/Observation.c', undefined, 'create', 'Observation', 'allowed'],
    ['user/Observation.u', undefined, 'update', 'Observation', 'allowed'],
    ['user/Observation.d', undefined, 'delete', 'Observation', 'allowed'],
    ['user/Observation.d', undefined, 'read', 'Observation', 'denied'],
    // v1 aliases
    ['user/*.read', undefined, 'search', 'Condition', 'allowed'],
    ['user/*.read', undefined, 'update', 'Condition', 'denied'],
    ['user/*.write', undefined, 'update', 'Condition', 'allowed'],
    ['user/*.write', undefined, 'read', 'Condition', 'denied'],
    ['system/*.*', undefined, 'delete', 'Condition', 'allowed'],
    // patient/ scopes: confined to the launch patient, useless without one
    ['patient/*.rs', 'p1', 'read', 'Observation', 'confined to p1'],
    ['patient/*.rs', 'p1', 'search', 'Patient', 'confined to p1'],
    ['patient/*.rs', 'p1', 'create', 'Observation', 'denied'],
    ['patient/Observation.rs', 'p1', 'search', 'Observation', 'confined to p1'],
    ['patient/Observation.rs', 'p1', 'search', 'Condition', 'denied'],
    ['patient/*.cruds', 'p1', 'delete', 'Observation', 'confined to p1'],
    ['patient/*.rs', undefined, 'read', 'Observation', 'denied'],
    ['patient/Observation.read', 'p1', 'read', 'Observation', 'confined to p1'],
    // the widest grant wins
    ['patient/*.rs user/Patient.rs', 'p1', 'search', 'Patient', 'allowed'],
    ['patient/*.rs user/Patient.rs', 'p1', 'search', 'Observation', 'confined to p1'],
    ['patient/*.cruds system/Observation.rs', 'p1', 'update', 'Observation', 'confined to p1'],
    ['patient/*.cruds system/Observation.rs', 'p1', 'read', 'Observation', 'allowed'],
    // non-resource scopes grant nothing
    ['openid fhirUser launch/patient offline_access', 'p1', 'read', 'Patient', 'denied'],
    ['', undefined, 'read', 'Patient', 'denied'],
    ['patient/Observation.rs?category=laboratory', 'p1', 'read', 'Observation', 'denied'],
  ];

  it.each(cases)('%s (patient %s): %s %s is %s', (scope, patient, kind, resourceType, expected) => {
    expect(decision(identity(scope, patient), { kind, resourceType })).toBe(expected);
  });

  it('names the scopes that would allow a denied access', () => {
    expect(() => authorize(identity('user/Patient.rs'), { kind: 'create', resourceType: 'Patient' })).toThrow(
      'create of Patient needs user/Patient.c, patient/Patient.c or system/Patient.c',
    );
    expect(() => authorize(identity('user/*.rs'), { kind: 'read', resourceType: 'Observation' })).not.toThrow();
  });

  it('says why patient/ scopes did not count without a launch patient', () => {
    expect(() => authorize(identity('patient/*.rs'), { kind: 'read', resourceType: 'Observation' })).toThrow(/needs user\/Observation\.r.*"patient" launch context/);
  });

  it('answers a denial with a forbidden OperationOutcome', () => {
    try {
      authorize(identity('user/Patient.rs'), { kind: 'delete', resourceType: 'Patient' });
      expect.unreachable();
    } catch (error) {
      expect((error as FhirError).outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: expect.stringContaining('user/Patient.d') }] });
    }
  });
});
