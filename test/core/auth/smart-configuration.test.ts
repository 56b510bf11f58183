/** SMART discovery: what a client reads before asking for a token. */
import { describe, expect, it } from 'vitest';
import { restSecurity, smartConfiguration } from '../../../core/auth/smart-configuration.js';
import { parseScope } from '../../../core/auth/scopes.js';

const oauth = {
  issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
  authorizationEndpoint: 'https://fhir.auth.eu-west-1.amazoncognito.com/oauth2/authorize',
  tokenEndpoint: 'https://fhir.auth.eu-west-1.amazoncognito.com/oauth2/token',
};

describe('/.well-known/smart-configuration', () => {
  it('names the OAuth endpoints and the SMART 2.0 capabilities', () => {
    const document = smartConfiguration(oauth);
    expect(document).toMatchObject({ issuer: oauth.issuer, authorization_endpoint: oauth.authorizationEndpoint, token_endpoint: oauth.tokenEndpoint, code_challenge_methods_supported: ['S256'] });
    expect(document.capabilities).toEqual(expect.arrayContaining(['launch-standalone', 'client-public', 'client-confidential-symmetric', 'permission-v2', 'permission-patient', 'permission-user']));
  });

  it('lists only scopes the policy understands', () => {
    for (const scope of smartConfiguration(oauth).scopes_supported as string[]) {
      expect(() => parseScope(scope), scope).not.toThrow();
    }
  });
});

describe("the CapabilityStatement's rest.security", () => {
  it('declares the SMART-on-FHIR service and the OAuth URIs', () => {
    expect(restSecurity(oauth)).toMatchObject({
      service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
      extension: [
        {
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [
            { url: 'authorize', valueUri: oauth.authorizationEndpoint },
            { url: 'token', valueUri: oauth.tokenEndpoint },
          ],
        },
      ],
    });
  });
});
