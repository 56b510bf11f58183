/**
 * The Cognito user pool's pre token generation trigger (V3_0, user and client-credentials
 * tokens): Cognito access tokens carry no user attributes, so this adds what the authorizer reads.
 * - the tenant, under `FHIR_TENANT_CLAIM`: a user's immutable `custom:tenant_id` attribute, or for
 *   a backend client the tenant configured for its app client (`FHIR_CLIENT_TENANTS`, JSON
 *   `{ "clientId": "tenant" }`), never anything the token request itself says;
 * - `fhirUser` from the user's `custom:fhir_user` (e.g. `Patient/123`), and for a patient, the
 *   `patient` launch context that its `patient/` scopes are confined to.
 * Without a tenant the token is issued as it is, and the authorizer refuses it.
 */
import type { PreTokenGenerationV2TriggerEvent, PreTokenGenerationV3TriggerEvent } from 'aws-lambda';
import { loadAuthConfig } from '../core/config.js';

type TokenEvent = PreTokenGenerationV2TriggerEvent | PreTokenGenerationV3TriggerEvent;

const tenantClaim = loadAuthConfig().tenantClaim;
const clientTenants = JSON.parse(process.env.FHIR_CLIENT_TENANTS || '{}') as Record<string, string>;

export async function handler(event: TokenEvent): Promise<TokenEvent> {
  const attributes = event.request.userAttributes ?? {};
  const tenant = event.triggerSource === 'TokenGeneration_ClientCredentials' ? clientTenants[event.callerContext.clientId] : attributes['custom:tenant_id'];
  const fhirUser = attributes['custom:fhir_user'];
  const patient = fhirUser && /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(fhirUser)?.[1];
  const claims = {
    ...(tenant && { [tenantClaim]: tenant }),
    ...(fhirUser && { fhirUser }),
    ...(patient && { patient }),
  };
  event.response.claimsAndScopeOverrideDetails = { accessTokenGeneration: { claimsToAddOrOverride: claims } };
  return event;
}
