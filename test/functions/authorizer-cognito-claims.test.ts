/** The Cognito trigger that puts the tenant and launch context into access tokens, for the authorizer. */
import type { PreTokenGenerationV2TriggerEvent, PreTokenGenerationV3TriggerEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { identityFromClaims } from '../../core/auth/identity.js';

process.env.FHIR_CLIENT_TENANTS = JSON.stringify({ 'backend-client': 'clinic-7' });
delete process.env.FHIR_TENANT_CLAIM;
let handler: typeof import('../../functions/cognito-token-claims.js').handler;
beforeAll(async () => {
  ({ handler } = await import('../../functions/cognito-token-claims.js'));
});

function userEvent(userAttributes: Record<string, string>): PreTokenGenerationV2TriggerEvent {
  return {
    version: '2',
    triggerSource: 'TokenGeneration_HostedAuth',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_abc',
    userName: 'ann',
    callerContext: { awsSdkVersion: 'x', clientId: 'user-login' },
    request: { userAttributes, groupConfiguration: { groupsToOverride: [] }, scopes: ['openid', 'patient/*.rs'] },
    response: { claimsAndScopeOverrideDetails: {} },
  } as unknown as PreTokenGenerationV2TriggerEvent;
}

function clientEvent(clientId: string, clientMetadata: Record<string, string> = {}): PreTokenGenerationV3TriggerEvent {
  return {
    version: '3',
    triggerSource: 'TokenGeneration_ClientCredentials',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_abc',
    userName: clientId,
    callerContext: { awsSdkVersion: 'x', clientId },
    request: { userAttributes: {}, groupConfiguration: {}, scopes: ['system/*.rs'], clientMetadata },
    response: { claimsAndScopeOverrideDetails: {} },
  } as unknown as PreTokenGenerationV3TriggerEvent;
}

const addedClaims = async (event: PreTokenGenerationV2TriggerEvent | PreTokenGenerationV3TriggerEvent) =>
  (await handler(event)).response.claimsAndScopeOverrideDetails?.accessTokenGeneration?.claimsToAddOrOverride;

describe('user tokens', () => {
  it("carry the user's tenant, and a patient's own compartment as launch context", async () => {
    const claims = await addedClaims(userEvent({ sub: 'u1', 'custom:tenant_id': 'clinic-1', 'custom:fhir_user': 'Patient/p-42' }));
    expect(claims).toEqual({ 'custom:tenant_id': 'clinic-1', fhirUser: 'Patient/p-42', patient: 'p-42' });
    const identity = identityFromClaims({ sub: 'u1', scope: 'patient/*.rs', ...claims }, 'custom:tenant_id');
    expect(identity).toMatchObject({ tenant: 'clinic-1', patient: 'p-42', fhirUser: 'Patient/p-42' });
  });

  it('give a practitioner fhirUser but no patient', async () => {
    expect(await addedClaims(userEvent({ 'custom:tenant_id': 'clinic-1', 'custom:fhir_user': 'Practitioner/d1' }))).toEqual({ 'custom:tenant_id': 'clinic-1', fhirUser: 'Practitioner/d1' });
  });

  it('of a user without a tenant carry none, so the authorizer refuses them', async () => {
    expect(await addedClaims(userEvent({ sub: 'u2' }))).toEqual({});
  });
});

describe('client-credentials tokens', () => {
  it("carry the tenant configured for the app client", async () => {
    expect(await addedClaims(clientEvent('backend-client'))).toEqual({ 'custom:tenant_id': 'clinic-7' });
  });

  it('never take a tenant from the token request', async () => {
    expect(await addedClaims(clientEvent('other-client', { tenant: 'clinic-1', 'custom:tenant_id': 'clinic-1' }))).toEqual({});
  });
});
