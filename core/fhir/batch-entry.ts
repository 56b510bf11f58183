/**
 * One entry of a batch or transaction Bundle (R4 bundle.html, http.html#transaction): its
 * request parsed and checked, GET entries evaluated, and the response entry shaped. Errors are
 * re-pointed at the entry (`Bundle.entry[i]...`), so a client can find what failed in a Bundle
 * of hundreds of entries.
 */
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { FhirError, informationOutcome, toOperationOutcome } from '../errors.js';
import { subset } from '../search/summary.js';
import type { ResourceVersion } from '../storage/repository.js';
import { searchsetBundle, versionOfEtag, weakEtag } from './result-bundles.js';
import { criteriaOf, type Criteria, ifNoneExistCriteria, parseQueryString } from './conditional.js';
import { isResourceType } from '../r4/definitions.js';
import { isValidId, parseVersionId } from '../r4/ids.js';
import { type FhirContext, parseJsonPatch, readResource, type SearchRequest, searchResources, vreadResource, type JsonPatchOperation } from './interactions.js';

type EntryMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS: readonly EntryMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** `Type/id` */
interface InstanceTarget {
  readonly kind: 'instance';
  readonly resourceType: string;
  readonly id: string;
}
/** `Type?criteria` */
interface ConditionalTarget {
  readonly kind: 'conditional';
  readonly criteria: Criteria;
}
/** `Type/id/_history/vid` */
interface VersionTarget {
  readonly kind: 'version';
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
}
/** A search as a URL states it; `Prefer` and the configuration add the rest. */
type SearchUrl = Omit<SearchRequest, 'strict' | 'defaultCount' | 'maxCount'>;

/** `Type?params`, `Patient/id/Type?params`, `?_type=…` */
interface SearchTarget {
  readonly kind: 'search';
  readonly request: SearchUrl;
}

/** What each method's `request.url` may name; a PATCH entry's patch is read with its request. */
type MethodTarget =
  | { readonly method: 'GET'; readonly target: InstanceTarget | VersionTarget | SearchTarget }
  | { readonly method: 'POST'; readonly target: { readonly kind: 'type'; readonly resourceType: string } }
  | { readonly method: 'PUT' | 'DELETE'; readonly target: InstanceTarget | ConditionalTarget }
  | { readonly method: 'PATCH'; readonly target: InstanceTarget | ConditionalTarget; readonly operations: JsonPatchOperation[] };

export type EntryRequest = MethodTarget & {
  readonly index: number;
  /** `request.url` as written. */
  readonly url: string;
  readonly fullUrl?: string;
  readonly resource?: unknown;
  readonly ifMatch?: number;
  readonly ifNoneExist?: Criteria;
};

/** How the client wants the response: `Prefer` and the settings search entries need. */
export interface BundleOptions {
  readonly baseUrl: string;
  readonly return: 'minimal' | 'representation' | 'OperationOutcome';
  /** `Prefer: handling=strict` for search entries. */
  readonly strict: boolean;
  readonly defaultCount: number;
  readonly maxCount: number;
}

/** R4 response.status: the code and its reason phrase. */
const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
};

export function statusText(status: number): string {
  return `${status} ${REASONS[status] ?? ''}`.trim();
}

export function entryPath(index: number): string {
  return `Bundle.entry[${index}]`;
}

/** Checks one `Bundle.entry` and reads its request; 400 naming the entry and the element at fault. */
export function parseEntry(raw: unknown, index: number): EntryRequest {
  try {
    return readEntryRequest(raw, entryPath(index), index);
  } catch (error) {
    throw error instanceof FhirError ? namingEntry(error, entryPath(index)) : error;
  }
}

/** The error's diagnostics, each starting with the entry it is about. */
function namingEntry(error: FhirError, at: string): FhirError {
  return new FhirError(
    error.status,
    error.issues.map((found) => ({ ...found, diagnostics: found.diagnostics?.startsWith(at) ? found.diagnostics : `${at}: ${found.diagnostics ?? found.code}` })),
  );
}

function readEntryRequest(raw: unknown, at: string, index: number): EntryRequest {
  if (!isObject(raw)) {
    throw FhirError.badRequest(`${at} must be an object`, at);
  }
  const request = raw.request;
  if (!isObject(request)) {
    throw FhirError.badRequest(`${at} has no request: every batch or transaction entry needs request.method and request.url`, `${at}.request`);
  }
  const method = request.method;
  if (typeof method !== 'string' || !METHODS.includes(method as EntryMethod)) {
    throw FhirError.badRequest(`${at}: request.method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(method)?.slice(0, 32)}`, `${at}.request.method`);
  }
  const url = request.url;
  if (typeof url !== 'string' || url.trim() === '') {
    throw FhirError.badRequest(`${at}: request.url is required`, `${at}.request.url`);
  }
  for (const unsupported of ['ifNoneMatch', 'ifModifiedSince'] as const) {
    if (request[unsupported] !== undefined) {
      throw FhirError.of(400, 'not-supported', `${at}: request.${unsupported} (conditional read) is not supported`, `${at}.request.${unsupported}`);
    }
  }
  if (raw.fullUrl !== undefined && typeof raw.fullUrl !== 'string') {
    throw FhirError.badRequest(`${at}: fullUrl must be a string`, `${at}.fullUrl`);
  }
  const { target } = parseTarget(method as EntryMethod, url, at);
  if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !isObject(raw.resource)) {
    throw FhirError.badRequest(`${at}: a ${method} entry needs a resource`, `${at}.resource`);
  }
  const methodTarget = { method, target, ...(method === 'PATCH' ? { operations: patchOperations(raw.resource, at) } : {}) } as MethodTarget;
  return {
    ...methodTarget,
    index,
    url,
    fullUrl: raw.fullUrl,
    resource: raw.resource,
    ifMatch: optionalString(request.ifMatch, `${at}.request.ifMatch`, (text) => versionOfEtag(text, 'ifMatch', `${at}.request.ifMatch`)),
    ifNoneExist: optionalString(request.ifNoneExist, `${at}.request.ifNoneExist`, (text) => {
      if (methodTarget.method !== 'POST') {
        throw FhirError.badRequest(`${at}: request.ifNoneExist applies to POST entries only`, `${at}.request.ifNoneExist`);
      }
      return ifNoneExistCriteria(methodTarget.target.resourceType, text, `${at}.request.ifNoneExist`);
    }),
  };
}

/** The forms of `request.url` each method takes (R4 http.html: all relative to the server base). */
function parseTarget(method: EntryMethod, url: string, at: string): Pick<MethodTarget, 'target'> {
  const expression = `${at}.request.url`;
  const bad = (why: string) => FhirError.badRequest(`${at}: ${method} ${url.slice(0, 100)}: ${why}`, expression);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) {
    throw bad('request.url must be relative to the server base, like Patient/123');
  }
  const separator = url.indexOf('?');
  const path = (separator < 0 ? url : url.slice(0, separator)).replace(/^\/+|\/+$/g, '');
  const query = separator < 0 ? undefined : url.slice(separator + 1);
  const segments = path === '' ? [] : path.split('/').map((segment) => decodeSegment(segment, bad));
  const [resourceType, id, third, versionId] = segments;
  if (resourceType !== undefined && !isResourceType(resourceType)) {
    throw bad(`unknown resource type "${resourceType.slice(0, 64)}"`);
  }
  if (id?.startsWith('_') || id?.startsWith('$')) {
    throw bad(`${id.slice(0, 32)} is not supported in a Bundle entry`);
  }
  if (id !== undefined && !isValidId(id)) {
    throw bad(`invalid id "${String(id).slice(0, 64)}"`);
  }
  if (method === 'GET') {
    if (segments.length === 2 && query === undefined) {
      return { target: { kind: 'instance', resourceType: resourceType!, id: id! } };
    }
    if (segments.length === 4 && third === '_history') {
      return { target: { kind: 'version', resourceType: resourceType!, id: id!, versionId: String(parseVersionId(versionId, expression)) } };
    }
    const parameters = parseQueryString(query ?? '');
    if (segments.length <= 1) {
      return { target: { kind: 'search', request: { resourceType, parameters } } };
    }
    if (segments.length === 3 && third !== undefined && isResourceType(third)) {
      return { target: { kind: 'search', request: { resourceType: third, compartment: { resourceType: resourceType!, id: id! }, parameters } } };
    }
    throw bad('a GET entry reads (Type/id, Type/id/_history/vid) or searches (Type?params, Patient/id/Type?params, ?_type=…)');
  }
  if (resourceType === undefined) {
    throw bad('the URL must start with a resource type');
  }
  if (method === 'POST') {
    if (segments.length !== 1 || query !== undefined) {
      throw bad('a POST entry creates: its URL is the resource type alone (conditions go in request.ifNoneExist)');
    }
    return { target: { kind: 'type', resourceType } };
  }
  if (segments.length === 2 && query === undefined) {
    return { target: { kind: 'instance', resourceType, id: id! } };
  }
  if (segments.length === 1 && query !== undefined) {
    return { target: { kind: 'conditional', criteria: criteriaOf(resourceType, parseQueryString(query), expression) } };
  }
  throw bad(`a ${method} entry names a resource (Type/id) or a condition (Type?criteria)`);
}

function decodeSegment(segment: string, bad: (why: string) => FhirError): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw bad('malformed percent-encoding');
  }
}

function optionalString<T>(value: unknown, expression: string, parse: (text: string) => T): T | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw FhirError.badRequest(`${expression} must be a string`, expression);
  }
  return parse(value);
}

/** `W/"3"` (or `"3"`, or `3`) → 3, as the If-Match header. */

/**
 * The JSON Patch of a PATCH entry. R4 carries it as a Binary (a Bundle holds only resources);
 * FHIRPath Patch (a Parameters resource) is not supported.
 */
function patchOperations(body: unknown, at: string): JsonPatchOperation[] {
  const expression = `${at}.resource`;
  const resource = body as { resourceType?: unknown; contentType?: unknown; data?: unknown };
  if (resource.resourceType === 'Parameters') {
    throw FhirError.of(400, 'not-supported', `${at}: FHIRPath Patch is not supported; send a JSON Patch as a Binary (contentType application/json-patch+json)`, expression);
  }
  if (resource.resourceType !== 'Binary' || typeof resource.data !== 'string') {
    throw FhirError.badRequest(`${at}: a PATCH entry's resource is a Binary whose data is a base64 JSON Patch`, expression);
  }
  if (resource.contentType !== undefined && resource.contentType !== 'application/json-patch+json') {
    throw FhirError.of(400, 'not-supported', `${at}: patch contentType "${String(resource.contentType)}" is not supported; use application/json-patch+json`, `${expression}.contentType`);
  }
  let operations: unknown;
  try {
    operations = JSON.parse(Buffer.from(resource.data, 'base64').toString('utf8'));
  } catch {
    throw FhirError.badRequest(`${at}: Binary.data is not base64 JSON`, `${expression}.data`);
  }
  try {
    return parseJsonPatch(operations);
  } catch (error) {
    // Its expressions index the operations; the patch as a whole is the Binary's data.
    throw error instanceof FhirError ? new FhirError(error.status, error.issues.map((found) => ({ ...found, expression: [`${expression}.data`] }))) : error;
  }
}

/** The entry's resource type, where its URL names one. */
function entryType(entry: EntryRequest): string | undefined {
  const { target } = entry;
  return target.kind === 'conditional' ? target.criteria.resourceType : target.kind === 'search' ? target.request.resourceType : target.resourceType;
}

/**
 * `error` re-pointed at the entry: expressions rooted at the resource move under
 * `Bundle.entry[i].resource`, the rest (ids, search parameters) under `request.url`, and the
 * diagnostics say which entry.
 */
export function atEntry(error: unknown, entry: EntryRequest): unknown {
  if (!(error instanceof FhirError)) {
    return error;
  }
  const at = entryPath(entry.index);
  const type = entryType(entry);
  const rebase = (expression: string): string => {
    if (expression.startsWith('Bundle.')) {
      return expression;
    }
    if (type && (expression === type || expression.startsWith(`${type}.`) || expression.startsWith(`${type}[`))) {
      return `${at}.resource${expression.slice(type.length)}`;
    }
    if (expression === 'resourceType') {
      return `${at}.resource.resourceType`;
    }
    // `[n]` is a JSON Patch operation, which the entry's Binary carries; anything else (an id, a
    // search parameter) comes from the URL.
    return expression.startsWith('[') ? `${at}.resource` : `${at}.request.url`;
  };
  const prefix = `${at} (${entry.method} ${entry.url.slice(0, 100)})`;
  return new FhirError(
    error.status,
    error.issues.map((found) => ({
      ...found,
      diagnostics: found.diagnostics?.startsWith(at) ? found.diagnostics : `${prefix}: ${found.diagnostics ?? found.details?.text ?? found.code}`,
      expression: found.expression?.length ? found.expression.map(rebase) : [at],
    })),
  );
}

/** A version as a response entry shows it; a resource found by search carries it in `meta`. */
type VersionView = Pick<ResourceVersion, 'resourceType' | 'id' | 'version' | 'lastUpdated' | 'resource'>;

export function versionOf(resource: Resource): VersionView {
  return { resourceType: resource.resourceType, id: resource.id as string, version: Number(resource.meta?.versionId), lastUpdated: resource.meta?.lastUpdated as string, resource };
}

/** The response entry of a write: status, location, ETag, Last-Modified, and the body `Prefer` asks for. */
export function writeEntry(status: number, version: VersionView, options: BundleOptions): BundleEntry {
  const location = version.resource ? `${options.baseUrl}/${version.resourceType}/${version.id}/_history/${version.version}` : undefined;
  const response = { status: statusText(status), ...(location ? { location } : {}), etag: weakEtag(version.version), lastModified: version.lastUpdated };
  switch (options.return) {
    case 'minimal':
      return { response };
    case 'OperationOutcome':
      return { response: { ...response, outcome: informationOutcome(`${statusText(status)}: ${version.resourceType}/${version.id} version ${version.version}`) } };
    default:
      return { ...(version.resource ? { resource: version.resource } : {}), response };
  }
}

/** The response entry of a write that changed nothing (a delete of nothing, or of a deleted resource). */
export function noContentEntry(): BundleEntry {
  return { response: { status: statusText(204) } };
}

export function errorEntry(error: unknown, entry: EntryRequest | undefined): BundleEntry {
  const { status, outcome } = toOperationOutcome(entry ? atEntry(error, entry) : error);
  return { response: { status: statusText(status), outcome } };
}

export type GetEntry = Extract<EntryRequest, { method: 'GET' }>;

/** Evaluates a GET entry: read, vread or search. */
export async function readEntry(context: FhirContext, entry: GetEntry, options: BundleOptions): Promise<BundleEntry> {
  const { target } = entry;
  switch (target.kind) {
    case 'instance':
      return resourceEntry(await readResource(context, target.resourceType, target.id));
    case 'version':
      return resourceEntry(await vreadResource(context, target.resourceType, target.id, target.versionId));
    case 'search':
      return { resource: await searchEntry(context, target.request, options), response: { status: statusText(200) } };
  }
}

export function searchRequestOf(request: SearchUrl, options: BundleOptions): SearchRequest {
  return { ...request, strict: options.strict, defaultCount: options.defaultCount, maxCount: options.maxCount };
}

function resourceEntry(version: ResourceVersion): BundleEntry {
  return { resource: version.resource, response: { status: statusText(200), etag: weakEtag(version.version), lastModified: version.lastUpdated } };
}

/** A searchset as `GET /[type]?…` answers it: ignored parameters reported, `_summary`/`_elements` applied, paging links. */
async function searchEntry(context: FhirContext, request: SearchUrl, options: BundleOptions): Promise<Bundle> {
  const { query, result } = await searchResources(context, searchRequestOf(request, options));
  const ignored = new Set(query.ignored.map((entry) => entry.name));
  const outcome: OperationOutcome | undefined =
    query.ignored.length > 0
      ? { resourceType: 'OperationOutcome', issue: query.ignored.map((entry) => ({ severity: 'warning', code: 'not-supported', diagnostics: `${entry.name}: ${entry.reason}; ignored`, expression: [entry.name] })) }
      : undefined;
  const path = [request.compartment && `${request.compartment.resourceType}/${request.compartment.id}`, request.resourceType].filter(Boolean).join('/');
  const kept = Object.entries(request.parameters).filter(([name]) => name !== '_cursor' && !ignored.has(name));
  const link = (cursor: string | undefined, count?: number): string => {
    const params = new URLSearchParams(kept.flatMap(([name, values]) => values.map((value): [string, string] => [name, value])));
    if (count !== undefined) {
      params.set('_count', String(count));
    }
    if (cursor) {
      params.set('_cursor', cursor);
    }
    const text = params.toString();
    return `${options.baseUrl}/${path}${text ? `?${text}` : ''}`;
  };
  const links: { self: string; next?: string; previous?: string } = {
    self: link(query.cursor),
    next: result.next ? link(result.next, query.count) : undefined,
    previous: result.previous ? link(result.previous, query.count) : undefined,
  };
  const shown = (resources: Resource[]) => resources.map((resource) => subset(resource, query));
  return searchsetBundle(options.baseUrl, { ...result, matches: shown(result.matches), included: shown(result.included), outcome }, links);
}

/**
 * Runs `task` over `items`, at most `limit` at a time, keeping the order of the results. After a
 * task fails no new one starts: the whole call fails anyway.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await task(items[index]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
