/**
 * Invokes a Lambda handler of `functions/` directly with an API Gateway REST proxy event, as API
 * Gateway would, without the local HTTP server in between: for tests that send many requests
 * (fuzzing) or requests no HTTP client would send as they are.
 *
 *   const response = await invoke('create', { method: 'POST', path: '/Patient', pathParameters: { resourceType: 'Patient' }, body: patient, tenant });
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { FUNCTIONS } from '../../functions/routes.js';
import { importHandler, lambdaContext } from '../../scripts/local/http-server.js';

export interface ProxyRequest {
  readonly method: string;
  readonly path: string;
  readonly pathParameters?: Record<string, string>;
  /** Each name with its values in order, as API Gateway's multi-value parameters. */
  readonly query?: readonly (readonly [string, string])[];
  /** Objects are sent as JSON; strings as they are. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly tenant: string;
  /** The Lambda authorizer's context API Gateway hands the handler (JWT mode). */
  readonly authorizer?: Record<string, string>;
}

export interface ProxyResponse {
  readonly status: number;
  /** The parsed body, or undefined when there is none. */
  readonly json: any;
}

export async function invoke(functionName: keyof typeof FUNCTIONS, request: ProxyRequest): Promise<ProxyResponse> {
  const handler = await importHandler(FUNCTIONS[functionName].module);
  const result = await handler(proxyEvent(request), lambdaContext(FUNCTIONS[functionName]));
  return { status: result.statusCode, json: result.body ? JSON.parse(result.body) : undefined };
}

function proxyEvent(request: ProxyRequest): APIGatewayProxyEvent {
  const headers: Record<string, string> = { 'content-type': 'application/fhir+json', 'x-tenant-id': request.tenant, ...request.headers };
  // Built without prototypes: the names are arbitrary (`constructor`, `__proto__`), as API Gateway's are.
  const single: Record<string, string> = Object.create(null);
  const multi: Record<string, string[]> = Object.create(null);
  for (const [name, value] of request.query ?? []) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  const hasQuery = (request.query ?? []).length > 0;
  const body = request.body === undefined ? null : typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  return {
    resource: request.path,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: hasQuery ? single : null,
    multiValueQueryStringParameters: hasQuery ? multi : null,
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: { path: request.path, httpMethod: request.method, identity: { sourceIp: '127.0.0.1' }, authorizer: request.authorizer ?? null } as APIGatewayProxyEvent['requestContext'],
  };
}
