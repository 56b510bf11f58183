import { passThrough, type StageSettings } from './stage';

/**
 * The stack's own identity provider: a Cognito user pool whose access tokens the authorizer
 * accepts, with SMART scopes defined on resource servers named after their context, so that a
 * scope `*.rs` of the resource server `patient` appears in tokens as `patient/*.rs`.
 *
 * - `FhirUserLogin`: a public client for people, authorization code with PKCE (no secret), the
 *   hosted UI at the pool's prefix domain;
 * - `FhirBackendService`: a confidential client for machines, client credentials with a secret,
 *   `system/` scopes only.
 *
 * Users carry their tenant in the immutable attribute `custom:tenant_id` and may name their FHIR
 * resource in `custom:fhir_user` (`Patient/123`, `Practitioner/9`); Cognito puts neither into
 * access tokens, so a pre token generation trigger does (functions/cognito-token-claims.ts; V3_0,
 * which covers client credentials too, needs the Essentials tier).
 */
const SCOPE_NAMES = ['*.rs', '*.cruds'];

export function createUserPool(settings: StageSettings) {
  const tokenClaims = new sst.aws.Function('FhirTokenClaims', {
    handler: 'functions/cognito-token-claims.handler',
    runtime: 'nodejs22.x',
    memory: '256 MB',
    timeout: '5 seconds',
    environment: { FHIR_CLIENT_TENANTS: JSON.stringify(settings.clientTenants), ...passThrough(process.env, ['FHIR_TENANT_CLAIM']) },
    logging: { retention: settings.logRetention },
  });
  const pool = new sst.aws.CognitoUserPool('FhirUserPool', {
    usernames: ['email'],
    domain: { prefix: $interpolate`fhir-${$app.name}-${$app.stage}` },
    transform: {
      userPool: (args) => {
        args.deletionProtection = settings.protectData ? 'ACTIVE' : 'INACTIVE';
        args.mfaConfiguration = 'OPTIONAL';
        args.softwareTokenMfaConfiguration = { enabled: true };
        args.passwordPolicy = { minimumLength: 12, requireLowercase: true, requireUppercase: true, requireNumbers: true, requireSymbols: false, temporaryPasswordValidityDays: 3 };
        args.schemas = [
          { name: 'tenant_id', attributeDataType: 'String', mutable: false, stringAttributeConstraints: { minLength: '1', maxLength: '64' } },
          { name: 'fhir_user', attributeDataType: 'String', mutable: true, stringAttributeConstraints: { minLength: '1', maxLength: '256' } },
        ];
        // Tenant and fhirUser decide what a user may see: only administrators set them, so no
        // self-service sign-up, and app clients may write no attribute of those.
        args.adminCreateUserConfig = { allowAdminCreateUserOnly: true };
        args.userPoolTier = 'ESSENTIALS';
        args.lambdaConfig = { preTokenGenerationConfig: { lambdaArn: tokenClaims.arn, lambdaVersion: 'V3_0' } };
      },
    },
  });
  new aws.lambda.Permission('FhirTokenClaimsInvoke', { action: 'lambda:InvokeFunction', function: tokenClaims.name, principal: 'cognito-idp.amazonaws.com', sourceArn: pool.arn });
  const resourceServers = ['patient', 'user', 'system'].map(
    (context) =>
      new aws.cognito.ResourceServer(`FhirScopes${context[0]!.toUpperCase()}${context.slice(1)}`, {
        userPoolId: pool.id,
        identifier: context,
        name: `SMART ${context}/ scopes`,
        scopes: SCOPE_NAMES.map((scopeName) => ({ scopeName, scopeDescription: `${context}/${scopeName}` })),
      }),
  );
  const scopes = (contexts: string[]) => contexts.flatMap((context) => SCOPE_NAMES.map((name) => `${context}/${name}`));
  const userLogin = pool.addClient(
    'FhirUserLogin',
    {
      callbackUrls: [...settings.callbackUrls],
      transform: {
        client: {
          allowedOauthFlows: ['code'],
          allowedOauthScopes: ['openid', 'email', 'profile', ...scopes(['patient', 'user'])],
          generateSecret: false,
          readAttributes: ['email', 'email_verified', 'custom:tenant_id', 'custom:fhir_user'],
          writeAttributes: ['email'],
          explicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
          preventUserExistenceErrors: 'ENABLED',
          accessTokenValidity: 60,
          idTokenValidity: 60,
          tokenValidityUnits: { accessToken: 'minutes', idToken: 'minutes', refreshToken: 'days' },
        },
      },
    },
    { dependsOn: resourceServers },
  );
  const backendService = pool.addClient(
    'FhirBackendService',
    {
      transform: {
        client: {
          allowedOauthFlows: ['client_credentials'],
          allowedOauthScopes: scopes(['system']),
          generateSecret: true,
          callbackUrls: [],
          supportedIdentityProviders: [],
          accessTokenValidity: 60,
          tokenValidityUnits: { accessToken: 'minutes' },
        },
      },
    },
    { dependsOn: resourceServers },
  );
  const region = aws.getRegionOutput({}).region;
  const oauthEnvironment: Record<string, $util.Input<string>> = {
    FHIR_OAUTH_ISSUER: $interpolate`https://cognito-idp.${region}.amazonaws.com/${pool.id}`,
    FHIR_OAUTH_AUTHORIZATION_ENDPOINT: $interpolate`${pool.domainUrl}/oauth2/authorize`,
    FHIR_OAUTH_TOKEN_ENDPOINT: $interpolate`${pool.domainUrl}/oauth2/token`,
  };
  return { pool, userLogin, backendService, oauthEnvironment };
}

export type UserPool = ReturnType<typeof createUserPool>;
