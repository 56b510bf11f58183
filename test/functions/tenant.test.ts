/** Who is calling: the Lambda authorizer's verified identity when deployed, X-Tenant-ID only in local-dev mode. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { formatScope } from '../../core/auth/scopes.js';
import { loadConfig } from '../../core/config.js';
import { FhirError } from '../../core/errors.js';
import { identityOf } from '../../functions/lib/tenant.js';

const jwtConfig = loadConfig({ FHIR_TABLE_NAME: 't', FHIR_AUTH_MODE: 'jwt' });
const localConfig = loadConfig({ FHIR_TABLE_NAME: 't', FHIR_AUTH_MODE: 'local-dev', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' });

function event(headers: Record<string, string>, authorizer: unknown, multiValueHeaders?: Record<string, string[]>): APIGatewayProxyEvent {
  const multi = multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
  return { headers, multiValueHeaders: multi, requestContext: { authorizer } } as unknown as APIGatewayProxyEvent;
}

function statusOf(call: () => unknown): number | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return (error as FhirError).status;
  }
}

describe('identityOf', () => {
  it("takes the identity from the Lambda authorizer's context", () => {
    const identity = identityOf(event({}, { tenant: 'clinic-2', sub: 'u1', client_id: 'app', scope: 'patient/*.rs', patient: 'p1', principalId: 'u1', integrationLatency: 12 }), jwtConfig);
    expect(identity).toMatchObject({ tenant: 'clinic-2', subject: 'u1', clientId: 'app', patient: 'p1' });
    expect(identity.scopes.map(formatScope)).toEqual(['patient/*.rs']);
  });

  it('ignores X-Tenant-ID when deployed: no authorizer context is 401', () => {
    expect(statusOf(() => identityOf(event({ 'X-Tenant-ID': 'clinic-1' }, null), jwtConfig))).toBe(401);
    expect(statusOf(() => identityOf(event({ 'X-Tenant-ID': 'clinic-1' }, { principalId: 'u1' }), jwtConfig))).toBe(401);
  });

  it('refuses a tenant id that could break out of its key (403)', () => {
    expect(statusOf(() => identityOf(event({}, { tenant: 'x#RESOURCE#y', sub: 'u1' }), jwtConfig))).toBe(403);
  });

  it('reads X-Tenant-ID (any case) in local-dev mode, else the default tenant, with every scope', () => {
    const identity = identityOf(event({ 'x-tenant-id': 'dev-1', 'X-User': 'ann' }, null), localConfig);
    expect(identity).toMatchObject({ tenant: 'dev-1', subject: 'ann' });
    expect(identity.scopes.map(formatScope)).toEqual(['system/*.cruds']);
    expect(identityOf(event({}, null), localConfig).tenant).toBe('default');
  });

  it('refuses X-Tenant-ID sent twice in local-dev mode (400)', () => {
    const twice = event({ 'X-Tenant-ID': 'b' }, null, { 'X-Tenant-ID': ['a', 'b'] });
    expect(statusOf(() => identityOf(twice, localConfig))).toBe(400);
    const twoSpellings = event({ 'x-tenant-id': 'b' }, null, { 'X-Tenant-ID': ['a'], 'x-tenant-id': ['b'] });
    expect(statusOf(() => identityOf(twoSpellings, localConfig))).toBe(400);
  });
});

describe('local-dev auth mode cannot be enabled in a deployed stage', () => {
  it.each([
    ['without a DynamoDB endpoint (the AWS regional endpoint)', { FHIR_TABLE_NAME: 't', FHIR_AUTH_MODE: 'local-dev' }],
    ['with a remote DynamoDB endpoint', { FHIR_TABLE_NAME: 't', FHIR_AUTH_MODE: 'local-dev', DYNAMODB_ENDPOINT: 'https://dynamodb.eu-west-1.amazonaws.com' }],
    ['inside AWS Lambda', { FHIR_TABLE_NAME: 't', FHIR_AUTH_MODE: 'local-dev', DYNAMODB_ENDPOINT: 'http://localhost:8000', AWS_LAMBDA_FUNCTION_NAME: 'fhir-read' }],
  ])('refused %s', (_name, env) => {
    expect(() => loadConfig(env)).toThrow(/local-dev/);
  });

  it('defaults to JWT claims', () => {
    expect(loadConfig({ FHIR_TABLE_NAME: 't' }).authMode).toBe('jwt');
  });

  it('names a missing table variable', () => {
    expect(() => loadConfig({})).toThrow(/FHIR_TABLE_NAME/);
  });
});
