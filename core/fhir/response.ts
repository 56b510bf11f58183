/**
 * A FHIR REST response, before any transport shapes it: status, the resource returned (a
 * resource, a searchset or history Bundle, or a `$validate` OperationOutcome), an
 * OperationOutcome about the interaction itself (errors, `Prefer: return=OperationOutcome`),
 * and the version and location headers. The HTTP adapter (functions/lib/http.ts) turns it into
 * a Lambda proxy result, the Bundle processor into a response entry (`bundleEntryOf`): every
 * response is built here once, so both transports answer alike.
 */
import type { BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { informationOutcome, toOperationOutcome } from '../errors.js';
import type { ResourceVersion } from '../storage/repository.js';
import type { PageLinks } from './result-bundles.js';
import { weakEtag } from './result-bundles.js';
import type { FhirRequest, QueryParameters } from './request.js';

export interface FhirResponse {
  readonly status: number;
  /** What the interaction returns; absent for 204 and `Prefer: return=minimal`. */
  readonly resource?: Resource;
  /** About the interaction: an error, or what `Prefer: return=OperationOutcome` asks for. Never with `resource`. */
  readonly outcome?: OperationOutcome;
  /** The version the response is about (ETag, Last-Modified). */
  readonly version?: { readonly version: number; readonly lastUpdated: string };
  /** Where a created resource lives: 201 only, as R4 http.html says for create and update, over HTTP and in Bundles alike. */
  readonly location?: string;
  /** Headers of the asynchronous pattern (Bulk Data: `Content-Location`, `X-Progress`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A body that is not a FHIR resource (the Bulk Data completion manifest), sent as `application/json`. */
  readonly json?: object;
  /** An HTML page (the analytics report's rendering), sent as `text/html`. */
  readonly html?: string;
}

/** A read or vread: the version's content with its ETag and Last-Modified. */
export function resourceResponse(version: ResourceVersion): FhirResponse {
  return { status: 200, resource: version.resource, version };
}

/** A whole result (searchset, history, CapabilityStatement, `$validate` outcome). */
export function okResponse(resource: Resource): FhirResponse {
  return { status: 200, resource };
}

/** The response of a thrown error: its status and OperationOutcome. */
export function errorResponse(error: unknown): FhirResponse {
  const { status, outcome } = toOperationOutcome(error);
  return { status, outcome };
}

const WRITE_VERBS: Record<number, string> = { 200: 'Updated', 201: 'Created', 204: 'Deleted' };

/**
 * A write's response: status, version headers, `Location` when a resource was created, and the
 * body `Prefer: return=` asks for. A delete that wrote nothing has no version.
 */
export function writeResponse(request: FhirRequest, status: 200 | 201 | 204, version: Pick<ResourceVersion, 'resourceType' | 'id' | 'version' | 'lastUpdated' | 'resource'> | undefined): FhirResponse {
  if (!version) {
    return { status };
  }
  const headers = { status, version, ...(status === 201 ? { location: `${request.baseUrl}/${versionPath(version)}` } : {}) };
  switch (status === 204 ? 'minimal' : request.prefer.return) {
    case 'minimal':
      return headers;
    case 'OperationOutcome':
      return { ...headers, outcome: informationOutcome(`${WRITE_VERBS[status]} ${versionPath(version)}`) };
    default:
      return { ...headers, resource: version.resource };
  }
}

function versionPath(version: { resourceType: string; id: string; version: number }): string {
  return `${version.resourceType}/${version.id}/_history/${version.version}`;
}

/** R4 Bundle.entry.response.status: the code and its reason phrase. */
const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusText(status: number): string {
  return `${status} ${REASONS[status] ?? ''}`.trim();
}

/** The response as a batch-response or transaction-response entry (R4 Bundle.entry.response). */
export function bundleEntryOf(response: FhirResponse): BundleEntry {
  return {
    ...(response.resource ? { resource: response.resource } : {}),
    response: {
      status: statusText(response.status),
      ...(response.location ? { location: response.location } : {}),
      ...(response.version ? { etag: weakEtag(response.version.version), lastModified: response.version.lastUpdated } : {}),
      ...(response.outcome ? { outcome: response.outcome } : {}),
    },
  };
}

/**
 * `self`, `next` and `previous` of a paged list at `path` (relative to the base): `self` repeats
 * the parameters `keep` accepts (a `POST …/_search` as its GET equivalent); `next` and
 * `previous` add their cursors and the page size.
 */
export function pageLinks(
  request: Pick<FhirRequest, 'baseUrl'>,
  path: string,
  parameters: QueryParameters,
  page: { readonly cursor?: string; readonly count: number },
  cursors: { readonly next?: string; readonly previous?: string },
  keep: (name: string) => boolean = () => true,
): PageLinks {
  const url = `${request.baseUrl}/${path}`;
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(parameters)) {
    if (name !== '_cursor' && keep(name)) {
      values.forEach((value) => params.append(name, value));
    }
  }
  const link = (cursor: string | undefined, count?: number): string => {
    const query = new URLSearchParams(params);
    if (count !== undefined) {
      query.set('_count', String(count));
    }
    if (cursor) {
      query.set('_cursor', cursor);
    }
    const text = query.toString();
    return text ? `${url}?${text}` : url;
  };
  return {
    self: link(page.cursor),
    next: cursors.next ? link(cursors.next, page.count) : undefined,
    previous: cursors.previous ? link(cursors.previous, page.count) : undefined,
  };
}
