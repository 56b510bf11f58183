/** Where the tenant comes from: verified claims when deployed, X-Tenant-ID only in local-dev mode. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { FhirError } from '../../core/errors.js';
import { tenantOf } from '../../functions/lib/tenant.js';

const jwtConfig = loadConfig({ FHIR_TABLE_NAME: 't', FHIR_AUTH_MODE: 'jwt' });
const localConfig = loadConfig({ FHIR_TABLE_NAME: 't', FHIR_AUTH_MODE: 'local-dev', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' });

function event(headers: Record<string, string>, authorizer: unknown): APIGatewayProxyEvent {
  return { headers, requestContext: { authorizer } } as unknown as APIGatewayProxyEvent;
}

function statusOf(call: () => unknown): number | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return (error as FhirError).status;
  }
}

describe('tenantOf', () => {
  it('takes the tenant from a Cognito/JWT authorizer claim', () => {
    expect(tenantOf(event({}, { claims: { 'custom:tenant_id': 'clinic-1' } }), jwtConfig)).toBe('clinic-1');
  });

  it('takes the tenant from a Lambda authorizer context', () => {
    expect(tenantOf(event({}, { 'custom:tenant_id': 'clinic-2' }), jwtConfig)).toBe('clinic-2');
  });

  it('ignores X-Tenant-ID when deployed: no claim is 401', () => {
    expect(statusOf(() => tenantOf(event({ 'X-Tenant-ID': 'clinic-1' }, null), jwtConfig))).toBe(401);
  });

  it('refuses a claimed tenant id that could break out of its key (403)', () => {
    expect(statusOf(() => tenantOf(event({}, { claims: { 'custom:tenant_id': 'x#RESOURCE#y' } }), jwtConfig))).toBe(403);
  });

  it('reads X-Tenant-ID (any case) in local-dev mode, else the default tenant', () => {
    expect(tenantOf(event({ 'x-tenant-id': 'dev-1' }, null), localConfig)).toBe('dev-1');
    expect(tenantOf(event({}, null), localConfig)).toBe('default');
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
