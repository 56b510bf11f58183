/**
 * HTTP at the edge: reading an API Gateway REST proxy event as a FHIR request (content
 * negotiation, body limits, JSON parsing, If-Match, Prefer) and shaping FHIR responses
 * (ETag, Last-Modified, Location, Prefer: return=...). Core never sees any of this.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { versionOfEtag, weakEtag } from '../../core/fhir/result-bundles.js';
import { FhirError, informationOutcome } from '../../core/errors.js';
import type { ResourceVersion } from '../../core/storage/repository.js';

export const FHIR_JSON = 'application/fhir+json';
const JSON_PATCH = 'application/json-patch+json';
const FORM = 'application/x-www-form-urlencoded';

/** Lower-cased request headers (API Gateway passes them as sent). */
export function headersOf(event: APIGatewayProxyEvent): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) {
      headers[name.toLowerCase()] = value;
    }
  }
  return headers;
}

export function queryOf(event: APIGatewayProxyEvent): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    query[name] = values ?? [];
  }
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    query[name] ??= value === undefined ? [] : [value];
  }
  return query;
}

const JSON_FORMATS = new Set(['json', 'application/json', FHIR_JSON]);

/**
 * JSON is the only format served. `_format` wins over `Accept` (R4 http.html#mime); a request
 * that accepts nothing JSON-like gets 406.
 */
export function assertJsonAcceptable(event: APIGatewayProxyEvent): void {
  const format = queryOf(event)._format?.[0];
  if (format !== undefined) {
    if (!JSON_FORMATS.has(format.split(';')[0].trim().toLowerCase())) {
      throw FhirError.notAcceptable(`_format "${format}" is not supported: this server speaks ${FHIR_JSON} only`);
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
    throw FhirError.notAcceptable(`Accept "${accept}" is not supported: this server speaks ${FHIR_JSON} only`);
  }
}

export type BodyKind = 'resource' | 'json-patch';

/** The JSON body, after checking content type and size. Nothing is parsed before both pass. */
export function parseJsonBody(event: APIGatewayProxyEvent, kind: BodyKind, maxBytes: number): unknown {
  const contentType = (headersOf(event)['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const allowed = kind === 'json-patch' ? [JSON_PATCH] : [FHIR_JSON, 'application/json'];
  if (!allowed.includes(contentType)) {
    const reason = contentType ? `Content-Type "${contentType}" is not supported` : 'Content-Type is missing';
    throw FhirError.unsupportedMediaType(`${reason}: send ${allowed.join(' or ')}`);
  }
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBytes) {
    throw FhirError.payloadTooLarge(`Request body is ${bytes.length} bytes; the limit is ${maxBytes} bytes`);
  }
  if (bytes.length === 0) {
    throw FhirError.badRequest('Request body is empty');
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw FhirError.badRequest(`Malformed JSON: ${(error as Error).message}`);
  }
}

/** A form body (`POST [type]/_search`) as query parameters; same limits as JSON bodies. */
export function parseFormBody(event: APIGatewayProxyEvent, maxBytes: number): Record<string, string[]> {
  const contentType = (headersOf(event)['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType !== FORM) {
    throw FhirError.unsupportedMediaType(`${contentType ? `Content-Type "${contentType}" is not supported` : 'Content-Type is missing'}: send ${FORM}`);
  }
  const bytes = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > maxBytes) {
    throw FhirError.payloadTooLarge(`Request body is ${bytes.length} bytes; the limit is ${maxBytes} bytes`);
  }
  const parameters: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(bytes.toString('utf8'))) {
    (parameters[name] ??= []).push(value);
  }
  return parameters;
}

/** `If-Match: W/"3"` (or `"3"`, or `3`) → 3. */
export function ifMatchVersion(event: APIGatewayProxyEvent): number | undefined {
  const header = headersOf(event)['if-match'];
  if (header === undefined) {
    return undefined;
  }
  return versionOfEtag(header, 'If-Match');
}

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

/** The `Prefer` header's `return` and `handling` preferences (RFC 7240; R4 http.html#ops). */
export function preferences(event: APIGatewayProxyEvent): { return: PreferReturn; handling: 'strict' | 'lenient' } {
  const header = headersOf(event).prefer ?? '';
  const values = new Map(
    header
      .split(/[;,]/)
      .map((part) => part.trim().split('='))
      .filter(([name]) => name)
      .map(([name, value]) => [name.toLowerCase(), (value ?? '').replace(/"/g, '')]),
  );
  const requested = values.get('return');
  const preferred: PreferReturn = requested === 'minimal' || requested === 'OperationOutcome' ? requested : 'representation';
  return { return: preferred, handling: values.get('handling') === 'strict' ? 'strict' : 'lenient' };
}

/**
 * The server's base URL as the client reached it: the stage prefix is what API Gateway's
 * `requestContext.path` has in front of the route's `path` (empty behind a custom domain).
 */
export function baseUrlOf(event: APIGatewayProxyEvent): string {
  const configured = process.env.FHIR_BASE_URL;
  if (configured) {
    return configured.replace(/\/$/, '');
  }
  const headers = headersOf(event);
  const proto = headers['x-forwarded-proto'] ?? 'https';
  const host = headers.host ?? 'localhost';
  const fullPath = event.requestContext?.path ?? event.path;
  const prefix = fullPath.endsWith(event.path) ? fullPath.slice(0, fullPath.length - event.path.length) : '';
  return `${proto}://${host}${prefix}`;
}

export function jsonResponse(status: number, body: Resource | undefined, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { ...(body ? { 'Content-Type': `${FHIR_JSON}; charset=utf-8` } : {}), ...headers },
    body: body ? JSON.stringify(body) : '',
  };
}

export function outcomeResponse(status: number, outcome: OperationOutcome): APIGatewayProxyResult {
  return jsonResponse(status, outcome);
}

/** Headers every response about one version carries. */
export function versionHeaders(version: ResourceVersion): Record<string, string> {
  return { ETag: weakEtag(version.version), 'Last-Modified': new Date(version.lastUpdated).toUTCString() };
}

/**
 * A write's response: status, version headers, `Location` when a resource was created, and the
 * body the client asked for with `Prefer: return=`.
 */
export function writeResponse(
  event: APIGatewayProxyEvent,
  status: 200 | 201,
  version: ResourceVersion,
): APIGatewayProxyResult {
  const location = `${baseUrlOf(event)}/${version.resourceType}/${version.id}/_history/${version.version}`;
  const headers = { ...versionHeaders(version), ...(status === 201 ? { Location: location } : {}) };
  switch (preferences(event).return) {
    case 'minimal':
      return jsonResponse(status, undefined, headers);
    case 'OperationOutcome':
      return jsonResponse(status, informationOutcome(`${status === 201 ? 'Created' : 'Updated'} ${version.resourceType}/${version.id} version ${version.version}`), headers);
    default:
      return jsonResponse(status, version.resource, headers);
  }
}
