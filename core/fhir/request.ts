/**
 * A FHIR REST request as every interaction sees it, whether it came over HTTP (functions/) or
 * as an entry of a batch or transaction Bundle (batch-entry.ts): method, path relative to the
 * server base, query parameters, the headers FHIR gives meaning to, and the body. Each
 * interaction reads the body it expects through the readers below, so content type, size and
 * JSON checks happen once, in one place, for both transports.
 */
import { FhirError } from '../errors.js';
import { versionOfEtag } from './result-bundles.js';
import type { JsonPatchOperation } from './interactions.js';

export type FhirMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const FHIR_JSON = 'application/fhir+json';
export const JSON_PATCH = 'application/json-patch+json';
const FORM = 'application/x-www-form-urlencoded';

/** Query parameters by name, in request order. Null prototype: names come from the client. */
export type QueryParameters = Record<string, string[]>;

export function emptyParameters(): QueryParameters {
  return Object.create(null) as QueryParameters;
}

/** `a=1&b=2&a=3` → `{ a: ['1', '3'], b: ['2'] }`. */
export function parseQueryString(query: string): QueryParameters {
  const parameters = emptyParameters();
  for (const [name, value] of new URLSearchParams(query)) {
    (parameters[name] ??= []).push(value);
  }
  return parameters;
}

/** The parameters of every source, in order (a `POST _search`'s URL and form body). */
export function mergeParameters(...sources: readonly QueryParameters[]): QueryParameters {
  const merged = emptyParameters();
  for (const source of sources) {
    for (const [name, values] of Object.entries(source)) {
      (merged[name] ??= []).push(...values);
    }
  }
  return merged;
}

/**
 * The body as the transport delivered it: bytes with their declared content type (HTTP), or the
 * resource (and, for PATCH, the JSON Patch its Binary carried) of a Bundle entry.
 */
export type RequestBody =
  | { readonly kind: 'http'; readonly contentType: string; readonly bytes: Buffer }
  | { readonly kind: 'entry'; readonly resource: unknown; readonly patch?: readonly JsonPatchOperation[] };

/** The `Prefer` header's `return`, `handling` and `respond-async` preferences (RFC 7240; R4 http.html#ops, async.html). */
export interface Preferences {
  readonly return: 'minimal' | 'representation' | 'OperationOutcome';
  readonly handling: 'strict' | 'lenient';
  /** Asked for the asynchronous pattern (Bulk Data `$export` requires it). */
  readonly respondAsync?: boolean;
}

export interface FhirRequest {
  readonly method: FhirMethod;
  /** Relative to the server base, without leading or trailing `/`, percent-encoded as sent: `Patient/123/_history`. */
  readonly path: string;
  readonly query: QueryParameters;
  /** `If-Match` as sent: an ETag such as `W/"3"`. */
  readonly ifMatch?: string;
  readonly ifNoneExist?: string;
  readonly prefer: Preferences;
  readonly body?: RequestBody;
  /** `html` when the client asked for the HTML rendering (`_format=html`), which only routes marked `html` have; absent: FHIR JSON. */
  readonly format?: 'html';
  /** The server base URL links and locations are built from. */
  readonly baseUrl: string;
  /** Where `If-Match` came from, for its error's expression (`If-Match`, `Bundle.entry[3].request.ifMatch`). */
  readonly ifMatchExpression?: string;
}

export const DEFAULT_PREFERENCES: Preferences = { return: 'representation', handling: 'lenient' };

export function parsePreferences(header: string | undefined): Preferences {
  const values = new Map(
    (header ?? '')
      .split(/[;,]/)
      .map((part) => part.trim().split('='))
      .filter(([name]) => name)
      .map(([name, value]) => [name.toLowerCase(), (value ?? '').replace(/"/g, '')]),
  );
  const requested = values.get('return');
  return {
    return: requested === 'minimal' || requested === 'OperationOutcome' ? requested : 'representation',
    handling: values.get('handling') === 'strict' ? 'strict' : 'lenient',
    ...(values.has('respond-async') ? { respondAsync: true } : {}),
  };
}

/** The `If-Match` version, when the request carries one. */
export function ifMatchOf(request: FhirRequest): number | undefined {
  return request.ifMatch === undefined ? undefined : versionOfEtag(request.ifMatch, 'If-Match', request.ifMatchExpression);
}

/** The JSON body of a resource-carrying request (create, update, `$validate`, Bundle). */
export function resourceBody(request: FhirRequest, maxBytes: number): unknown {
  const body = request.body;
  if (body?.kind === 'entry') {
    return body.resource;
  }
  return parseJson(httpBytes(body, [FHIR_JSON, 'application/json'], maxBytes));
}

/** The operations of a JSON Patch request (RFC 6902). */
export function patchBody(request: FhirRequest, maxBytes: number): unknown {
  const body = request.body;
  if (body?.kind === 'entry') {
    return body.patch;
  }
  return parseJson(httpBytes(body, [JSON_PATCH], maxBytes));
}

/** A form body (`POST [type]/_search`) as query parameters; same limits as JSON bodies. */
export function formBody(request: FhirRequest, maxBytes: number): QueryParameters {
  const body = request.body;
  if (body?.kind === 'entry') {
    throw FhirError.badRequest('A search in a Bundle entry is a GET with its parameters in request.url');
  }
  return parseQueryString(httpBytes(body, [FORM], maxBytes).toString('utf8'));
}

/** The body's bytes, after checking content type and size. Nothing is parsed before both pass. */
function httpBytes(body: Extract<RequestBody, { kind: 'http' }> | undefined, allowed: readonly string[], maxBytes: number): Buffer {
  const contentType = (body?.contentType ?? '').split(';')[0].trim().toLowerCase();
  if (!allowed.includes(contentType)) {
    const reason = contentType ? `Content-Type "${contentType.slice(0, 64)}" is not supported` : 'Content-Type is missing';
    throw FhirError.unsupportedMediaType(`${reason}: send ${allowed.join(' or ')}`);
  }
  const bytes = body?.bytes ?? Buffer.alloc(0);
  if (bytes.length > maxBytes) {
    throw FhirError.payloadTooLarge(`Request body is ${bytes.length} bytes; the limit is ${maxBytes} bytes`);
  }
  if (bytes.length === 0) {
    throw FhirError.badRequest('Request body is empty');
  }
  return bytes;
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw FhirError.badRequest(`Malformed JSON: ${(error as Error).message}`);
  }
}

const FHIR_INSTANT_OR_DATE = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** A history page request: `_count` (1 to `maxCount`), `_since` (a FHIR instant or date) and the paging cursor. */
export function historyPageOf(query: QueryParameters, limits: { readonly defaultCount: number; readonly maxCount: number }): { count: number; since?: string; cursor?: string } {
  const countText = query._count?.[0];
  let count = limits.defaultCount;
  if (countText !== undefined) {
    count = Number(countText);
    if (!/^\d+$/.test(countText) || count < 1 || count > limits.maxCount) {
      throw FhirError.badRequest(`_count must be an integer from 1 to ${limits.maxCount}, got "${countText.slice(0, 32)}"`, '_count');
    }
  }
  const sinceText = query._since?.[0];
  let since: string | undefined;
  if (sinceText !== undefined) {
    const parsed = Date.parse(sinceText);
    if (!FHIR_INSTANT_OR_DATE.test(sinceText) || Number.isNaN(parsed)) {
      throw FhirError.badRequest(`_since must be a FHIR instant such as 2024-01-31T12:00:00Z, got "${sinceText.slice(0, 40)}"`, '_since');
    }
    since = new Date(parsed).toISOString();
  }
  return { count, since, cursor: query._cursor?.[0] };
}
