/**
 * One entry of a batch or transaction Bundle (R4 bundle.html, http.html#transaction): its
 * request checked and read into a `FhirRequest` the router answers like the same request over
 * HTTP, and what a transaction needs to plan it (the target its URL names). Errors are
 * re-pointed at the entry (`Bundle.entry[i]...`), so a client can find what failed in a Bundle
 * of hundreds of entries.
 */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { ResourceVersion } from '../storage/repository.js';
import { criteriaOf, type Criteria, ifNoneExistCriteria } from './conditional.js';
import { type JsonPatchOperation, parseJsonPatch, type SearchRequest } from './interactions.js';
import { type FhirMethod, type FhirRequest, parseQueryString } from './request.js';
import { bundleEntryOf, errorResponse, type FhirResponse } from './response.js';
import { versionOfEtag } from './result-bundles.js';
import { type Interaction, matchRoute, type RouteMatch } from './routes.js';
import { isResourceType } from '../r4/definitions.js';
import { isValidId, parseVersionId } from '../r4/ids.js';

const METHODS: readonly FhirMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

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
export type SearchUrl = Omit<SearchRequest, 'strict' | 'defaultCount' | 'maxCount'>;

/** `Type?params`, `Patient/id/Type?params`, `?_type=…` */
interface SearchTarget {
  readonly kind: 'search';
  readonly request: SearchUrl;
}

/** Any other interaction of the route table (history, `$validate`, …): a batch runs it, a transaction refuses it. */
interface OtherTarget {
  readonly kind: 'other';
  readonly interaction: Interaction;
}

/** What each method's `request.url` names, as a transaction plans it. */
type MethodTarget =
  | { readonly method: 'GET'; readonly target: InstanceTarget | VersionTarget | SearchTarget | OtherTarget }
  | { readonly method: 'POST'; readonly target: { readonly kind: 'type'; readonly resourceType: string } }
  | { readonly method: 'POST'; readonly target: OtherTarget }
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
  /** The entry as a request of its own, for the router. */
  readonly request: FhirRequest;
};

/** How entries are answered: the router's, so an entry is answered as the same request over HTTP. */
export interface BundleProcessing {
  /** The request that carried the Bundle: its base URL and `Prefer` apply to every entry. */
  readonly request: FhirRequest;
  readonly dispatch: (request: FhirRequest) => Promise<FhirResponse>;
  /**
   * Checks a transaction entry's scopes, 403 when they do not allow it, and returns the patient
   * compartment it is confined to (`FhirContext.confinedTo`). Batch entries are checked by `dispatch`.
   */
  readonly authorizeEntry: (request: FhirRequest) => string | undefined;
  /** Page sizes for checking a transaction's searches before it writes. */
  readonly searchLimits: { readonly defaultCount: number; readonly maxCount: number };
  /** Told of each entry's error that is not a FhirError, which its entry reports only as a 500. */
  readonly onUnexpectedError?: (error: unknown) => void;
}

export type GetEntry = Extract<EntryRequest, { method: 'GET' }>;

/** An entry that writes: what a transaction plans (it refuses the other interactions). */
export type WriteEntry = Exclude<EntryRequest, GetEntry | { readonly target: OtherTarget }>;

export function entryPath(index: number): string {
  return `Bundle.entry[${index}]`;
}

/**
 * Checks one `Bundle.entry` and reads its request; 400 naming the entry and the element at
 * fault. `bundle` is the request that carried the Bundle: its base URL and `Prefer` apply to
 * every entry.
 */
export function parseEntry(raw: unknown, index: number, bundle: Pick<FhirRequest, 'baseUrl' | 'prefer'>): EntryRequest {
  try {
    return readEntryRequest(raw, entryPath(index), index, bundle);
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

function readEntryRequest(raw: unknown, at: string, index: number, bundle: Pick<FhirRequest, 'baseUrl' | 'prefer'>): EntryRequest {
  if (!isObject(raw)) {
    throw FhirError.badRequest(`${at} must be an object`, at);
  }
  const request = raw.request;
  if (!isObject(request)) {
    throw FhirError.badRequest(`${at} has no request: every batch or transaction entry needs request.method and request.url`, `${at}.request`);
  }
  const method = request.method;
  if (typeof method !== 'string' || !METHODS.includes(method as FhirMethod)) {
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
  const expression = `${at}.request.url`;
  const bad = (why: string) => FhirError.badRequest(`${at}: ${method} ${url.slice(0, 100)}: ${why}`, expression);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) {
    throw bad('request.url must be relative to the server base, like Patient/123');
  }
  const separator = url.indexOf('?');
  const path = (separator < 0 ? url : url.slice(0, separator)).replace(/^\/+|\/+$/g, '');
  const query = parseQueryString(separator < 0 ? '' : url.slice(separator + 1));
  let match: RouteMatch;
  try {
    match = matchRoute(method as FhirMethod, path);
  } catch (error) {
    throw error instanceof FhirError ? bad(error.issues[0]?.diagnostics ?? 'no such interaction') : error;
  }
  if (match.route.interaction === 'batch') {
    throw bad('an entry cannot itself be a batch or transaction');
  }
  const { type, id, compartmentType } = match.params;
  for (const named of [type, compartmentType]) {
    if (named !== undefined && !isResourceType(named)) {
      // 404, as over HTTP (R4 http.html: a resource type the server does not support).
      throw FhirError.of(404, 'not-found', `${at}: ${method} ${url.slice(0, 100)}: unknown resource type "${named.slice(0, 64)}"`, expression);
    }
  }
  if (id !== undefined && !isValidId(id)) {
    throw bad(`invalid id "${String(id).slice(0, 64)}"`);
  }
  if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !isObject(raw.resource)) {
    throw FhirError.badRequest(`${at}: a ${method} entry needs a resource`, `${at}.resource`);
  }
  const operations = method === 'PATCH' ? patchOperations(raw.resource, at) : undefined;
  const target = targetOf(match, query, expression);
  const ifMatch = optionalString(request.ifMatch, `${at}.request.ifMatch`, (text) => text);
  const ifNoneExist = optionalString(request.ifNoneExist, `${at}.request.ifNoneExist`, (text) => text);
  if (ifNoneExist !== undefined && match.route.interaction !== 'create') {
    throw FhirError.badRequest(`${at}: request.ifNoneExist applies to POST entries only`, `${at}.request.ifNoneExist`);
  }
  return {
    method,
    target,
    ...(operations ? { operations } : {}),
    index,
    url,
    fullUrl: raw.fullUrl,
    resource: raw.resource,
    ifMatch: ifMatch === undefined ? undefined : versionOfEtag(ifMatch, 'ifMatch', `${at}.request.ifMatch`),
    ifNoneExist: ifNoneExist === undefined ? undefined : ifNoneExistCriteria(match.params.type, ifNoneExist, `${at}.request.ifNoneExist`),
    request: {
      method: method as FhirMethod,
      path,
      query,
      ifMatch,
      ifMatchExpression: `${at}.request.ifMatch`,
      ifNoneExist,
      prefer: bundle.prefer,
      baseUrl: bundle.baseUrl,
      body: raw.resource === undefined && !operations ? undefined : { kind: 'entry', resource: raw.resource, patch: operations },
    },
  } as EntryRequest;
}

/** The target a transaction plans with, from the route the URL matched. */
function targetOf({ route, params }: RouteMatch, query: Record<string, string[]>, expression: string): EntryRequest['target'] {
  const { type, id, vid, compartmentType } = params;
  switch (route.interaction) {
    case 'read':
    case 'update':
    case 'patch':
    case 'delete':
      return { kind: 'instance', resourceType: type as string, id: id as string };
    case 'vread':
      return { kind: 'version', resourceType: type as string, id: id as string, versionId: String(parseVersionId(vid, expression)) };
    case 'conditional-update':
    case 'conditional-patch':
    case 'conditional-delete':
      return { kind: 'conditional', criteria: criteriaOf(type, query, expression) };
    case 'create':
      return { kind: 'type', resourceType: type as string };
    case 'search-type':
      return { kind: 'search', request: { resourceType: type, parameters: query } };
    case 'search-compartment':
      return { kind: 'search', request: { resourceType: compartmentType, compartment: { resourceType: type as string, id: id as string }, parameters: query } };
    case 'search-system':
      return { kind: 'search', request: { parameters: query } };
    default:
      return { kind: 'other', interaction: route.interaction };
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
  switch (target.kind) {
    case 'conditional':
      return target.criteria.resourceType;
    case 'search':
      return target.request.resourceType;
    case 'other':
      return matchRoute(entry.request.method, entry.request.path).params.type;
    default:
      return target.resourceType;
  }
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

/** The response entry of a router response, its outcome re-pointed at the entry. */
export function responseEntry(response: FhirResponse, entry: EntryRequest): BundleEntry {
  if (response.status < 400 || !response.outcome) {
    return bundleEntryOf(response);
  }
  return errorEntry(new FhirError(response.status, response.outcome.issue), entry);
}

export function errorEntry(error: unknown, entry: EntryRequest | undefined): BundleEntry {
  return bundleEntryOf(errorResponse(entry ? atEntry(error, entry) : error));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
