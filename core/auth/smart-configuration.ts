/**
 * What SMART clients discover before they ask for a token: `/.well-known/smart-configuration`
 * (SMART App Launch 2.0, conformance.html) and the CapabilityStatement's `rest.security`.
 */
import type { CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import type { OAuthEndpoints } from '../config.js';

/** The scopes this server enforces (any type or `*`, any `cruds` subset); listed are the usual ones. */
export const SCOPES_SUPPORTED = [
  'openid',
  'fhirUser',
  'launch/patient',
  'offline_access',
  'patient/*.rs',
  'patient/*.cruds',
  'user/*.rs',
  'user/*.cruds',
  'system/*.rs',
  'system/*.cruds',
] as const;

const CAPABILITIES = [
  'launch-standalone',
  'client-public',
  'client-confidential-symmetric',
  'permission-v1',
  'permission-v2',
  'permission-patient',
  'permission-user',
  'permission-offline',
] as const;

/** Without OAuth endpoints (the local runtime, whose tokens come from `npm run token`) it lists what is enforced only. */
export function smartConfiguration(oauth: OAuthEndpoints | undefined): Record<string, unknown> {
  return {
    ...(oauth && { issuer: oauth.issuer, authorization_endpoint: oauth.authorizationEndpoint, token_endpoint: oauth.tokenEndpoint }),
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: SCOPES_SUPPORTED,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: CAPABILITIES,
  };
}

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

export function restSecurity(oauth: OAuthEndpoints | undefined): CapabilityStatementRestSecurity {
  return {
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile (SMART App Launch 2.0 scopes)' }],
    description:
      'Bearer access tokens from the stack\'s Cognito user pool or a configured OpenID Connect issuer; the tenant comes from a verified claim, and every resource is visible to its own tenant only. ' +
      'SMART scopes (patient/, user/, system/; v2 cruds and v1 read/write) are enforced per interaction; patient/ scopes confine access to the launch patient\'s compartment.',
    ...(oauth && {
      extension: [
        {
          url: OAUTH_URIS,
          extension: [
            { url: 'authorize', valueUri: oauth.authorizationEndpoint },
            { url: 'token', valueUri: oauth.tokenEndpoint },
          ],
        },
      ],
    }),
  };
}
