/** The identity a token's verified claims describe, and its round trip through the authorizer context. */
import { describe, expect, it } from 'vitest';
import { authorizerContext, CONTEXT_TENANT_KEY, identityFromClaims } from '../../../core/auth/identity.js';
import { formatScope } from '../../../core/auth/scopes.js';
import { FhirError } from '../../../core/errors.js';

const TENANT_CLAIM = 'custom:tenant_id';

function statusOf(claims: Record<string, unknown>): number | undefined {
  try {
    identityFromClaims(claims, TENANT_CLAIM);
    return undefined;
  } catch (error) {
    return (error as FhirError).status;
  }
}

describe('identityFromClaims', () => {
  it('reads tenant, subject, client, scopes and launch context', () => {
    const identity = identityFromClaims(
      { sub: 'u1', client_id: 'app', scope: 'openid fhirUser patient/*.rs', [TENANT_CLAIM]: 'clinic-1', patient: 'p-7', fhirUser: 'Patient/p-7' },
      TENANT_CLAIM,
    );
    expect(identity).toMatchObject({ tenant: 'clinic-1', subject: 'u1', clientId: 'app', patient: 'p-7', fhirUser: 'Patient/p-7' });
    expect(identity.scopes.map(formatScope)).toEqual(['patient/*.rs']);
  });

  it('takes the client id from azp and an scp array when that is what the IdP sends', () => {
    const identity = identityFromClaims({ sub: 'svc', azp: 'backend', scp: ['system/*.rs'], [TENANT_CLAIM]: 't' }, TENANT_CLAIM);
    expect(identity.clientId).toBe('backend');
    expect(identity.scopes.map(formatScope)).toEqual(['system/*.rs']);
  });

  it.each([
    ['no tenant claim', { sub: 'u' }, 401],
    ['a numeric tenant', { sub: 'u', [TENANT_CLAIM]: 42 }, 403],
    ['a tenant array', { sub: 'u', [TENANT_CLAIM]: ['a'] }, 403],
    ['a tenant with #', { sub: 'u', [TENANT_CLAIM]: 'a#RESOURCE#b' }, 403],
    ['an empty tenant', { sub: 'u', [TENANT_CLAIM]: '' }, 403],
    ['no subject', { [TENANT_CLAIM]: 't' }, 401],
    ['a patient that is not an id', { sub: 'u', [TENANT_CLAIM]: 't', patient: 'Patient/1' }, 401],
    ['a malformed scope', { sub: 'u', [TENANT_CLAIM]: 't', scope: 'user/*.sr' }, 401],
  ])('refuses %s', (_why, claims, status) => {
    expect(statusOf(claims)).toBe(status);
  });

  it('survives the trip through the authorizer context, whose values are all strings', () => {
    const identity = identityFromClaims({ sub: 'u1', cid: 'app', scope: 'user/*.read patient/Observation.cruds', [TENANT_CLAIM]: 'clinic-1', patient: 'p1' }, TENANT_CLAIM);
    const context = authorizerContext(identity);
    expect(Object.values(context).every((value) => typeof value === 'string')).toBe(true);
    expect(context.scope).toBe('user/*.rs patient/Observation.cruds');
    expect(identityFromClaims(context, CONTEXT_TENANT_KEY)).toEqual(identity);
  });
});
