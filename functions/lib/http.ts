/**
 * HTTP at the edge: an API Gateway REST proxy event read as a FHIR request (content
 * negotiation, headers, body bytes), and a FHIR response written as a proxy result (ETag,
 * Last-Modified, Location, body). Core never sees any of this; every FHIR decision about the
 * request is the router's (core/router/).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RuntimeConfig } from '../../core/config.js';
import { FhirError } from '../../core/errors.js';
import { FHIR_JSON, type FhirMethod, type FhirRequest, JSON_PATCH, parsePreferences, type QueryParameters, emptyParameters } from '../../core/fhir/request.js';
import type { FhirResponse } from '../../core/fhir/response.js';
import { weakEtag } from '../../core/fhir/result-bundles.js';

/** Lower-cased request headers (API Gateway passes them as sent). */
export function headersOf(event: APIGatewayProxyEvent): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) {
      headers[name.toLowerCase()] = value;
    }
  }
  return headers;
}

export function queryOf(event: APIGatewayProxyEvent): QueryParameters {
  const query = emptyParameters();
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    query[name] = values ?? [];
  }
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    query[name] ??= value === undefined ? [] : [value];
  }
  return query;
}

const JSON_FORMATS = new Set(['json', 'application/json', FHIR_JSON]);
/** Asks for the HTML rendering some routes have (the analytics report); the router answers 406 elsewhere. */
const HTML_FORMATS = new Set(['html', 'text/html']);

function htmlRequested(event: APIGatewayProxyEvent): boolean {
  const format = queryOf(event)._format?.[0];
  return format !== undefined && HTML_FORMATS.has(format.split(';')[0].trim().toLowerCase());
}

/**
 * JSON is the format served, and HTML where a route has it (`_format=html`). `_format` wins over
 * `Accept` (R4 http.html#mime); a request that accepts nothing JSON-like gets 406.
 */
export function assertJsonAcceptable(event: APIGatewayProxyEvent): void {
  const format = queryOf(event)._format?.[0];
  if (format !== undefined) {
    if (!JSON_FORMATS.has(format.split(';')[0].trim().toLowerCase()) && !htmlRequested(event)) {
      throw FhirError.notAcceptable(`_format "${format.slice(0, 64)}" is not supported: this server speaks ${FHIR_JSON} only`);
    }
    return;
  }
  const accept = headersOf(event).accept;
  if (!accept) {
    return;
  }
  const ranges = accept.split(',').map((range) => range.split(';')[0].trim().toLowerCase());
  const acceptsJson = ranges.some((range) => range === '*/*' || range === 'application/*' || range === 'application/json' || range === FHIR_JSON || range === JSON_PATCH);
  if (!acceptsJson) {
    throw FhirError.notAcceptable(`Accept "${accept.slice(0, 100)}" is not supported: this server speaks ${FHIR_JSON} only`);
  }
}

const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** The event as a FHIR request; `_format` is the transport's business and stays out of it. */
export function fhirRequestOf(event: APIGatewayProxyEvent, config: RuntimeConfig): FhirRequest {
  if (!METHODS.has(event.httpMethod)) {
    throw FhirError.methodNotAllowed(`${event.httpMethod.slice(0, 16)} is not a FHIR interaction method`);
  }
  const headers = headersOf(event);
  const query = queryOf(event);
  delete query._format;
  const raw = event.body ?? '';
  return {
    method: event.httpMethod as FhirMethod,
    path: event.path.replace(/^\/+/, ''),
    query,
    ifMatch: headers['if-match'],
    ifNoneExist: headers['if-none-exist'],
    prefer: parsePreferences(headers.prefer),
    ...(htmlRequested(event) ? { format: 'html' as const } : {}),
    baseUrl: baseUrlOf(event, config),
    body: { kind: 'http', contentType: headers['content-type'] ?? '', bytes: Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8') },
  };
}

/**
 * The server's base URL: the configured one (deployed, set from the API's URL, so no response
 * trusts the `Host` header), else as the client reached it — the stage prefix is what API
 * Gateway's `requestContext.path` has in front of the route's `path`.
 */
function baseUrlOf(event: APIGatewayProxyEvent, config: RuntimeConfig): string {
  if (config.baseUrl) {
    return config.baseUrl;
  }
  const headers = headersOf(event);
  const proto = headers['x-forwarded-proto'] ?? 'https';
  const host = headers.host ?? 'localhost';
  const fullPath = event.requestContext?.path ?? event.path;
  const prefix = fullPath.endsWith(event.path) ? fullPath.slice(0, fullPath.length - event.path.length) : '';
  return `${proto}://${host}${prefix}`;
}

/** The response as API Gateway returns it: the resource, else the outcome, else a plain JSON body (a manifest), as the body. */
export function proxyResultOf(response: FhirResponse): APIGatewayProxyResult {
  if (response.html !== undefined) {
    return htmlResultOf({ ...response, html: response.html });
  }
  const body = response.resource ?? response.outcome ?? response.json;
  return {
    statusCode: response.status,
    headers: {
      ...(body ? { 'Content-Type': `${body === response.json ? 'application/json' : FHIR_JSON}; charset=utf-8` } : {}),
      ...response.headers,
      ...(response.version ? { ETag: weakEtag(response.version.version), 'Last-Modified': new Date(response.version.lastUpdated).toUTCString() } : {}),
      ...(response.location ? { Location: response.location } : {}),
      // RFC 6750: a 401 names the scheme to authenticate with.
      ...(response.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}),
    },
    body: body ? JSON.stringify(body) : '',
  };
}

/** A page (`FhirResponse.html`) as API Gateway returns it. */
function htmlResultOf(response: FhirResponse & { html: string }): APIGatewayProxyResult {
  return { statusCode: response.status, headers: { 'Content-Type': 'text/html; charset=utf-8', ...response.headers }, body: response.html };
}

export function outcomeResult(status: number, outcome: OperationOutcome): APIGatewayProxyResult {
  return proxyResultOf({ status, outcome });
}
