/**
 * The local API server against fake handlers: what a handler receives (the API Gateway REST
 * proxy event and Lambda context) and what the client gets back.
 */
import { generateKeyPairSync } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler as authorizer } from '../../functions/authorizer.js';
import { type HandlerLoader, importHandler, MAX_BODY_BYTES } from '../../scripts/local/http-server.js';
import { issueToken, JWKS_PATH, localIssuerConfig, signingKey } from '../../scripts/local/local-issuer.js';
import { useLocalApi } from '../support/local-api.js';

interface Invocation {
  readonly module: string;
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
}

const invocations: Invocation[] = [];

/** Records what it was given and answers with the route's module name. */
const echoHandlers: HandlerLoader = async (module) => async (event, context) => {
  invocations.push({ module, event, context });
  return respondAs(module, event);
};

function respondAs(module: string, event: APIGatewayProxyEvent): APIGatewayProxyResult {
  switch (event.queryStringParameters?.respond) {
    case 'throw':
      throw new Error('handler bug');
    case 'binary':
      return { statusCode: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.from([0, 1, 254, 255]).toString('base64'), isBase64Encoded: true };
    case 'multi':
      return { statusCode: 201, headers: { 'X-Single': 'one' }, multiValueHeaders: { 'X-Multi': ['a', 'b'] }, body: '' };
    default:
      return { statusCode: 200, body: JSON.stringify({ module }) };
  }
}

const api = useLocalApi({ loadHandler: echoHandlers });

/** Sends a request and returns what the handler received. */
async function invoke(method: string, path: string, options: Parameters<typeof api.request>[2] = {}): Promise<Invocation> {
  const before = invocations.length;
  const response = await api.request(method, path, options);
  expect(response.status, response.text).toBe(200);
  expect(invocations).toHaveLength(before + 1);
  return invocations.at(-1)!;
}

describe('routing like API Gateway REST', () => {
  it('prefers a static segment over a variable one', async () => {
    expect((await invoke('GET', '/metadata')).event.resource).toBe('/metadata');
    const history = await invoke('GET', '/Patient/_history');
    expect(history.module).toBe('history');
    expect(history.event.resource).toBe('/{resourceType}/_history');
    expect(history.event.pathParameters).toEqual({ resourceType: 'Patient' });
  });

  it('routes each method on the same path to its own function', async () => {
    const path = '/Observation/obs-1';
    const modules = [];
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'POST']) {
      modules.push((await invoke(method, path)).module);
    }
    expect(modules).toEqual(['read', 'update', 'patch', 'delete', 'validate']);
  });

  it('passes URL-decoded path parameters and the raw path', async () => {
    const { module, event } = await invoke('POST', '/Patient/a%20b/%24validate');
    expect(module).toBe('validate');
    expect(event.pathParameters).toEqual({ resourceType: 'Patient', id: 'a b', operation: '$validate' });
    expect(event.path).toBe('/Patient/a%20b/%24validate');
  });

  it('matches a path with a trailing slash', async () => {
    expect((await invoke('GET', '/Patient/p1/_history/3/')).event.pathParameters).toEqual({ resourceType: 'Patient', id: 'p1', versionId: '3' });
  });

  it('answers 404 with an OperationOutcome for a path no route has', async () => {
    for (const path of ['/Patient/p1/_history/3/extra', '/Patient//_history', '/Patient/p1/Observation/extra']) {
      const response = await api.request('GET', path);
      expect(response.status, path).toBe(404);
      expect(response.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    }
  });

  it('answers 405 with an Allow header when the path exists but the method does not', async () => {
    const before = invocations.length;
    const onMetadata = await api.request('DELETE', '/metadata');
    expect(onMetadata.status).toBe(405);
    expect(onMetadata.headers.get('allow')).toBe('GET');
    expect(onMetadata.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-supported' }] });
    const onHistory = await api.request('DELETE', '/Patient/_history');
    expect(onHistory.status).toBe(405);
    expect(onHistory.headers.get('allow')).toBe('GET');
    expect(invocations).toHaveLength(before);
  });

  it('answers 400 for malformed percent-encoding', async () => {
    const response = await api.request('GET', '/Patient/%E0%A4%A');
    expect(response.status).toBe(400);
    expect(response.json.resourceType).toBe('OperationOutcome');
  });
});

describe('the proxy event', () => {
  it('carries single- and multi-value query parameters, decoded', async () => {
    const { event } = await invoke('GET', '/Patient?name=Ann&name=Bo%20b&given=J%C3%BCrgen&_count=5&empty=');
    expect(event.multiValueQueryStringParameters).toEqual({ name: ['Ann', 'Bo b'], given: ['Jürgen'], _count: ['5'], empty: [''] });
    // API Gateway keeps the last value of a repeated parameter in the single-value map.
    expect(event.queryStringParameters).toEqual({ name: 'Bo b', given: 'Jürgen', _count: '5', empty: '' });
  });

  it('has null parameter maps and a null body when there are none', async () => {
    const { event } = await invoke('GET', '/metadata');
    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
    expect(event.pathParameters).toBeNull();
    expect(event.body).toBeNull();
    expect(event.isBase64Encoded).toBe(false);
  });

  it('passes JSON bodies as text and other types base64-encoded', async () => {
    const patient = { resourceType: 'Patient', name: [{ family: 'Müller' }] };
    const json = await invoke('POST', '/Patient', { body: patient });
    expect(json.event.isBase64Encoded).toBe(false);
    expect(JSON.parse(json.event.body!)).toEqual(patient);

    const bytes = Uint8Array.from([0, 1, 2, 253, 254, 255]);
    const binary = await invoke('POST', '/Binary', { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(binary.event.isBase64Encoded).toBe(true);
    expect(Buffer.from(binary.event.body!, 'base64')).toEqual(Buffer.from(bytes));
  });

  it('keeps every value of a repeated header and adds the X-Forwarded headers', async () => {
    const before = invocations.length;
    expect(await rawRequest(api.baseUrl, '/metadata', ['Accept', 'application/fhir+json', 'X-Repeated', 'first', 'X-Repeated', 'second'])).toBe(200);
    const { event } = invocations[before]!;
    expect(event.multiValueHeaders['X-Repeated']).toEqual(['first', 'second']);
    expect(event.headers['X-Repeated']).toBe('second');
    expect(event.headers.Accept).toBe('application/fhir+json');
    expect(event.headers['X-Forwarded-For']).toBe('127.0.0.1');
    expect(event.headers['X-Forwarded-Proto']).toBe('http');
  });

  it('describes the request in requestContext', async () => {
    const before = Date.now();
    const response = await api.request('GET', '/Patient/p1/_history', { tenant: 'clinic-1' });
    const { event } = invocations.at(-1)!;
    expect(event.headers['x-tenant-id']).toBe('clinic-1');
    expect(event.httpMethod).toBe('GET');
    expect(event.requestContext).toMatchObject({
      stage: 'local',
      resourcePath: '/{resourceType}/{id}/_history',
      httpMethod: 'GET',
      path: '/Patient/p1/_history',
      authorizer: null,
      identity: { sourceIp: '127.0.0.1' },
    });
    expect(event.requestContext.requestTimeEpoch).toBeGreaterThanOrEqual(before);
    expect(event.requestContext.requestTimeEpoch).toBeLessThanOrEqual(Date.now());
    expect(response.headers.get('x-amzn-requestid')).toBe(event.requestContext.requestId);
  });

  it('gives the handler a Lambda context from the route function spec', async () => {
    const { context } = await invoke('GET', '/Patient', {});
    expect(context.functionName).toBe('search');
    expect(context.memoryLimitInMB).toBe('2048');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    // search has a 30 s timeout; the clock started when the request arrived.
    const remaining = context.getRemainingTimeInMillis();
    expect(remaining).toBeGreaterThan(25_000);
    expect(remaining).toBeLessThanOrEqual(30_000);
  });
});

describe('the response', () => {
  it('decodes a base64 body from the handler', async () => {
    const response = await fetch(`${api.baseUrl}/Binary/b1?respond=binary`);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0, 1, 254, 255]));
  });

  it('merges headers and multiValueHeaders, and defaults the content type to JSON', async () => {
    const response = await api.request('POST', '/Patient?respond=multi');
    expect(response.status).toBe(201);
    expect(response.headers.get('x-single')).toBe('one');
    expect(response.headers.get('x-multi')).toBe('a, b');
    expect(response.headers.get('content-type')).toBe('application/json');
  });

  it('turns a throwing handler into a 502 OperationOutcome', async () => {
    const response = await api.request('GET', '/Patient/p1?respond=throw');
    expect(response.status).toBe(502);
    expect(response.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'exception' }] });
  });

  it('refuses a body over the API Gateway payload limit with 413, without calling the handler', async () => {
    const before = invocations.length;
    const response = await api.request('POST', '/Binary', { body: new Uint8Array(MAX_BODY_BYTES + 1), headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'too-costly' }] });
    expect(invocations).toHaveLength(before);
  });
});

describe('requests Node cannot take', () => {
  it('answers 431 with an OperationOutcome for a 20 KB URL, without calling a handler', async () => {
    const before = invocations.length;
    const response = await api.request('GET', `/Patient?name=${'x'.repeat(20 * 1024)}`);
    expect(response.status).toBe(431);
    expect(response.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'too-long' }] });
    expect(invocations).toHaveLength(before);
  });
});

describe('JWT mode: the Lambda authorizer in front of every non-public route', () => {
  const key = signingKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
  const authorizerCalls: string[] = [];
  const counted: typeof authorizer = (event) => {
    authorizerCalls.push(event.authorizationToken);
    return authorizer(event);
  };
  const secured = useLocalApi({ loadHandler: echoHandlers, auth: { authorizer: counted, jwks: key.jwks } });
  const tenantClaim = 'custom:tenant_id';
  beforeAll(() => {
    // The authorizer reads its issuers at its first call, as a Lambda container does at cold start.
    process.env.FHIR_OIDC_ISSUERS = JSON.stringify([localIssuerConfig(secured.baseUrl + JWKS_PATH)]);
  });
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  it('answers 401 with an OperationOutcome and WWW-Authenticate: Bearer when there is no token or a forged one', async () => {
    const before = invocations.length;
    const forged = issueToken(signingKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), { tenant: 't1', scope: 'user/*.cruds', tenantClaim });
    for (const options of [{}, bearer(forged), bearer('not-a-jwt'), { headers: { authorization: 'Basic dXNlcjpwdw==' } }]) {
      const response = await secured.request('GET', '/Patient/p1', options);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(response.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
    }
    expect(invocations).toHaveLength(before);
  });

  it("hands the handler the authorizer's context for a valid token", async () => {
    const token = issueToken(key, { tenant: 'clinic-9', scope: 'openid patient/*.rs', tenantClaim, subject: 'u-9', clientId: 'app', patient: 'p9' });
    const response = await secured.request('GET', '/Observation?patient=p9', bearer(token));
    expect(response.status).toBe(200);
    expect(invocations.at(-1)!.event.requestContext.authorizer).toMatchObject({ tenant: 'clinic-9', sub: 'u-9', client_id: 'app', scope: 'patient/*.rs', patient: 'p9', principalId: 'u-9' });
  });

  it("keeps the authorizer's answer for a token, on every route, as API Gateway's authorizer cache does", async () => {
    const first = `Bearer ${issueToken(key, { tenant: 'clinic-1', scope: 'user/*.rs', tenantClaim, subject: 'u-1' })}`;
    const second = `Bearer ${issueToken(key, { tenant: 'clinic-2', scope: 'user/*.rs', tenantClaim, subject: 'u-2' })}`;
    const before = authorizerCalls.length;
    for (const [path, token] of [['/Patient/p1', first], ['/Observation?patient=p1', first], ['/Patient/p1', second], ['/Patient/_history', first]] as const) {
      const response = await secured.request('GET', path, { headers: { authorization: token } });
      expect(response.status).toBe(200);
      expect(invocations.at(-1)!.event.requestContext.authorizer).toMatchObject({ tenant: token === first ? 'clinic-1' : 'clinic-2' });
    }
    expect(authorizerCalls.slice(before)).toEqual([first, second]);
  });

  it('lets /metadata, the SMART configuration and the JWKS through without a token', async () => {
    expect((await secured.request('GET', '/metadata')).status).toBe(200);
    const smart = await secured.request('GET', '/.well-known/smart-configuration');
    expect(smart.json).toEqual({ module: 'smart-configuration' });
    expect((await secured.request('GET', JWKS_PATH)).json).toEqual(key.jwks);
  });
});

describe('the default handler loader', () => {
  it('refuses a functions/ module without a handler export', async () => {
    await expect(importHandler('routes')).rejects.toThrow('functions/routes.ts does not export a handler function');
  });
});

/**
 * node:http rather than fetch, which would merge repeated headers into one line. Raw headers
 * replace Node's defaults, so Host is added here.
 */
function rawRequest(baseUrl: string, path: string, rawHeaders: string[]): Promise<number> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: ['Host', url.host, ...rawHeaders] }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}
