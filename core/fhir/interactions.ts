/**
 * The FHIR RESTful interactions (R4 http.html) over the versioned repository: request shape
 * checks, validation, and the status semantics (404 unknown, 410 deleted, 412 stale If-Match).
 * No HTTP or Lambda types: the handlers in `functions/` parse and shape, this decides.
 */
import { applyPatch } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../errors.js';
import type { Page, ResourceKey, ResourceRepository, ResourceVersion, WriteResult } from '../storage/repository.js';
import type { SearchEngine, SearchResult } from '../search/engine.js';
import { parseSearchQuery } from '../search/parse.js';
import type { SearchQuery } from '../search/types.js';
import type { TenantId } from '../tenant.js';
import { isResourceType } from '../r4/definitions.js';
import { newResourceId, parseId, parseVersionId } from '../r4/ids.js';
import { assertWellFormedJson } from './input-gate.js';
import { compartmentPatients } from '../r4/compartment.js';
import { assertValidResource, validateResource } from './validation.js';

export interface FhirContext {
  readonly repository: ResourceRepository;
  /** The table's engine: strongly consistent, used wherever a search decides a write. */
  readonly searchEngine: SearchEngine;
  readonly tenant: TenantId;
  /** The authenticated caller, recorded on every version it writes (audit's "who"). */
  readonly principal?: string;
  /**
   * The patient compartment a `patient/` scope confines the caller to: a resource outside it is
   * 403 to read or change, and is left out of lists. Undefined: no confinement.
   */
  readonly confinedTo?: string;
}

/** Whether the caller may see or change `resource`: always, unless confined to a patient's compartment it is not in. */
export function withinConfinement(context: Pick<FhirContext, 'confinedTo'>, resource: Resource): boolean {
  const patient = context.confinedTo;
  return patient === undefined || compartmentPatients(resource).includes(patient);
}

/** 403 when `resource` lies outside the caller's confinement. */
export function assertWithinConfinement(context: Pick<FhirContext, 'confinedTo'>, resource: Resource | undefined): void {
  if (resource && !withinConfinement(context, resource)) {
    throw FhirError.forbidden(`${resource.resourceType}/${resource.id ?? '(new)'} is outside the patient compartment this token is limited to (Patient/${context.confinedTo})`);
  }
}

/** What to presume of the current state: nothing when a confinement must look at the stored resource. */
function presumption(context: FhirContext, presume: 'absent' | 'ifMatch' | undefined): 'absent' | 'ifMatch' | undefined {
  return presume === 'ifMatch' && context.confinedTo !== undefined ? undefined : presume;
}

export interface SearchRequest {
  /** The type searched; undefined for system search (`_type` chooses). */
  readonly resourceType?: string;
  /** Compartment search `Patient/{id}/{resourceType}`. */
  readonly compartment?: { readonly resourceType: string; readonly id: string };
  readonly parameters: Record<string, string[]>;
  readonly strict: boolean;
  readonly defaultCount: number;
  readonly maxCount: number;
}

export interface PageRequest {
  readonly count: number;
  readonly cursor?: string;
  readonly since?: string;
}

export type JsonPatchOperation = Parameters<typeof applyPatch>[1][number];

export function assertResourceType(resourceType: string | undefined): string {
  if (!resourceType || !isResourceType(resourceType)) {
    throw FhirError.notFound(`Unknown resource type "${String(resourceType).slice(0, 64)}"`);
  }
  return resourceType;
}

function resourceKey(context: FhirContext, resourceType: string | undefined, id: string | undefined): ResourceKey {
  return { tenant: context.tenant, resourceType: assertResourceType(resourceType), id: parseId(id) };
}

/** The request body as a resource of the URL's type. */
export function requireResourceBody(body: unknown, resourceType: string): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw FhirError.badRequest('Request body must be a FHIR resource (a JSON object)');
  }
  const bodyType = (body as { resourceType?: unknown }).resourceType;
  if (bodyType !== resourceType) {
    throw FhirError.badRequest(`Resource type in the body ("${String(bodyType)}") does not match the URL ("${resourceType}")`, 'resourceType');
  }
  return body as Resource;
}

export function describe(key: ResourceKey): string {
  return `${key.resourceType}/${key.id}`;
}

/** What a create stores: R4 has the server assign the id and ignore any id in the body. */
export function resourceToCreate(resourceType: string, body: unknown, id: string = newResourceId()): Resource & { id: string } {
  return { ...requireResourceBody(body, resourceType), id };
}

/** What an update of `key` stores: the body, whose id must be the URL's (R4 http.html#update). */
export function resourceToUpdate(key: ResourceKey, body: unknown): Resource {
  const resource = requireResourceBody(body, key.resourceType);
  if (resource.id === undefined) {
    throw FhirError.badRequest('Resource id is required in the body of an update', `${key.resourceType}.id`);
  }
  if (resource.id !== key.id) {
    throw FhirError.badRequest(`Resource id in the body ("${String(resource.id).slice(0, 64)}") does not match the URL ("${key.id}")`, `${key.resourceType}.id`);
  }
  return resource;
}

/** If-Match against a resource that does not exist: nothing can match it. */
export function assertIfMatch(key: ResourceKey, current: ResourceVersion | undefined, ifMatch: number | undefined): void {
  if (ifMatch === undefined) {
    return;
  }
  if (!current) {
    throw FhirError.preconditionFailed(`If-Match expects version ${ifMatch} but ${describe(key)} does not exist`);
  }
  if (current.version !== ifMatch) {
    throw FhirError.preconditionFailed(`Version conflict: If-Match expects version ${ifMatch}, current version is ${current.version}`);
  }
}

export async function createResource(context: FhirContext, resourceType: string | undefined, body: unknown): Promise<ResourceVersion> {
  const type = assertResourceType(resourceType);
  const resource = resourceToCreate(type, body);
  assertValidResource(resource);
  assertWithinConfinement(context, resource);
  const key = { tenant: context.tenant, resourceType: type, id: resource.id };
  const result = await context.repository.write(key, { presume: 'absent', author: context.principal }, (current) => {
    if (current) {
      throw FhirError.conflict(`Generated id ${describe(key)} already exists`);
    }
    return { kind: 'write', method: 'POST', resource };
  });
  return result.version as ResourceVersion;
}

export async function readResource(context: FhirContext, resourceType: string | undefined, id: string | undefined): Promise<ResourceVersion> {
  const key = resourceKey(context, resourceType, id);
  const current = await context.repository.readCurrent(key);
  if (!current) {
    throw FhirError.notFound(`${describe(key)} not found`);
  }
  if (current.deleted) {
    throw FhirError.gone(`${describe(key)} was deleted (version ${current.version})`);
  }
  assertWithinConfinement(context, current.resource);
  return current;
}

export async function vreadResource(context: FhirContext, resourceType: string | undefined, id: string | undefined, versionId: string | undefined): Promise<ResourceVersion> {
  const key = resourceKey(context, resourceType, id);
  const version = parseVersionId(versionId);
  const stored = await context.repository.readVersion(key, version);
  if (!stored) {
    throw FhirError.notFound(`${describe(key)}/_history/${version} not found`);
  }
  if (stored.deleted) {
    throw FhirError.gone(`${describe(key)} version ${version} is a deletion`);
  }
  assertWithinConfinement(context, stored.resource);
  return stored;
}

/** Update, or update-as-create when the client chooses a new id. `created` says which. */
export async function updateResource(
  context: FhirContext,
  resourceType: string | undefined,
  id: string | undefined,
  body: unknown,
  ifMatch: number | undefined,
): Promise<{ version: ResourceVersion; created: boolean }> {
  const key = resourceKey(context, resourceType, id);
  const resource = resourceToUpdate(key, body);
  assertValidResource(resource);
  assertWithinConfinement(context, resource);
  const presume = presumption(context, ifMatch === undefined ? undefined : 'ifMatch');
  const result = await context.repository.write(key, { ifMatch, presume, author: context.principal }, (current) => {
    assertIfMatch(key, current, ifMatch);
    assertWithinConfinement(context, current?.resource);
    return { kind: 'write', method: 'PUT', resource };
  });
  return { version: result.version as ResourceVersion, created: !result.previous || result.previous.deleted };
}

export async function patchResource(
  context: FhirContext,
  resourceType: string | undefined,
  id: string | undefined,
  body: unknown,
  ifMatch: number | undefined,
): Promise<ResourceVersion> {
  const key = resourceKey(context, resourceType, id);
  const operations = parseJsonPatch(body);
  const result = await context.repository.write(key, { ifMatch, author: context.principal }, (current) => {
    const live = requireLive(key, current);
    assertWithinConfinement(context, live);
    const patched = patchedResource(key, live, operations);
    assertValidResource(patched);
    assertWithinConfinement(context, patched);
    return { kind: 'write', method: 'PATCH', resource: patched };
  });
  return result.version as ResourceVersion;
}

/**
 * `existing` with the JSON Patch applied; 422 when an operation fails or would change type or id.
 * Operations are applied one by one, each after its pointers are checked against the resource
 * as it then is: Medplum follows pointers through inherited properties, so `/toString/x` or
 * `/constructor/prototype/x` would otherwise write into shared prototypes.
 */
export function patchedResource(key: ResourceKey, existing: Resource, operations: JsonPatchOperation[]): Resource {
  const patched = structuredClone(existing);
  operations.forEach((operation, index) => {
    const failure = unreachablePointer(patched, operation) ?? applyOperation(patched, operation);
    if (failure !== undefined) {
      throw FhirError.unprocessable(`JSON Patch operation ${index} failed: ${failure}`, `[${index}]`);
    }
  });
  if (patched.resourceType !== key.resourceType || patched.id !== key.id) {
    throw FhirError.unprocessable('A patch cannot change the resource type or id');
  }
  return patched;
}

function applyOperation(document: Resource, operation: JsonPatchOperation): string | undefined {
  try {
    const [failure] = applyPatch(document, [operation]);
    return failure ? failure.message : undefined;
  } catch {
    // Medplum throws on pointers it cannot follow, such as a step into a string.
    return `path ${operation.path.slice(0, 200)} cannot be followed in the resource`;
  }
}

/**
 * Why the operation's pointers do not lead through the resource's own properties, if they do
 * not: `from` must name an existing value; `path` an existing parent, and never `__proto__`.
 */
function unreachablePointer(document: Resource, operation: JsonPatchOperation): string | undefined {
  const from = 'from' in operation && typeof operation.from === 'string' ? pointerTokens(operation.from) : [];
  const path = pointerTokens(operation.path);
  if (!ownPathExists(document, from)) {
    return `from ${String((operation as { from: string }).from).slice(0, 200)} does not exist in the resource`;
  }
  if (!ownPathExists(document, path.slice(0, -1)) || path.at(-1) === '__proto__') {
    return `path ${operation.path.slice(0, 200)} does not exist in the resource`;
  }
  return undefined;
}

/** RFC 6901: `/a~1b/0` → `['a/b', '0']`. */
function pointerTokens(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

function ownPathExists(document: unknown, tokens: readonly string[]): boolean {
  let at = document;
  for (const token of tokens) {
    const exists = Array.isArray(at)
      ? ARRAY_INDEX.test(token) && Number(token) < at.length
      : typeof at === 'object' && at !== null && Object.hasOwn(at, token);
    if (!exists) {
      return false;
    }
    at = (at as Record<string, unknown>)[token];
  }
  return true;
}

/** Deletes by writing a deletion version. Deleting a deleted resource changes nothing. */
export async function deleteResource(context: FhirContext, resourceType: string | undefined, id: string | undefined, ifMatch: number | undefined): Promise<WriteResult> {
  const key = resourceKey(context, resourceType, id);
  const presume = presumption(context, ifMatch === undefined ? undefined : 'ifMatch');
  return context.repository.write(key, { ifMatch, presume, author: context.principal }, (current) => {
    if (!current) {
      throw FhirError.notFound(`${describe(key)} not found`);
    }
    assertWithinConfinement(context, current.resource);
    return current.deleted ? { kind: 'unchanged', result: current } : { kind: 'write', method: 'DELETE' };
  });
}

export async function instanceHistory(context: FhirContext, resourceType: string | undefined, id: string | undefined, page: PageRequest): Promise<Page<ResourceVersion>> {
  const key = resourceKey(context, resourceType, id);
  const history = await context.repository.instanceHistory(key, page);
  if (history.items.length === 0 && !page.cursor && !page.since) {
    throw FhirError.notFound(`${describe(key)} not found`);
  }
  const current = history.items[0]?.resource;
  if (!page.cursor && !page.since && current) {
    assertWithinConfinement(context, current);
  }
  return confinedPage(context, history);
}

export async function typeHistory(context: FhirContext, resourceType: string | undefined, page: PageRequest): Promise<Page<ResourceVersion>> {
  return confinedPage(context, await context.repository.typeHistory(context.tenant, assertResourceType(resourceType), page));
}

/** The versions the caller may see: under a confinement, those whose content lies inside it (a deletion shows none). */
function confinedPage(context: FhirContext, page: Page<ResourceVersion>): Page<ResourceVersion> {
  return context.confinedTo === undefined ? page : { ...page, items: page.items.filter((version) => version.resource !== undefined && withinConfinement(context, version.resource)) };
}

/**
 * Type, compartment and system search (R4 search.html), on the table's strongly consistent
 * engine unless the caller passes another (the search handler passes the OpenSearch router).
 */
export async function searchResources(
  context: FhirContext,
  request: SearchRequest,
  engine: SearchEngine = context.searchEngine,
): Promise<{ query: SearchQuery; result: SearchResult }> {
  const query = parseSearchRequest(request);
  return { query, result: await engine.search(context.tenant, query) };
}

/** A search request checked and parsed, without running it: every malformed part is a 400 here. */
export function parseSearchRequest(request: SearchRequest): SearchQuery {
  const resourceTypes = request.resourceType === undefined ? [] : [assertResourceType(request.resourceType)];
  let compartment: SearchQuery['compartment'];
  if (request.compartment) {
    if (request.compartment.resourceType !== 'Patient') {
      throw FhirError.notFound(`Compartment search is supported for the Patient compartment only, not ${String(request.compartment.resourceType).slice(0, 64)}`);
    }
    compartment = { resourceType: 'Patient', id: parseId(request.compartment.id) };
  }
  return parseSearchQuery(
    { resourceTypes, query: request.parameters, compartment },
    { defaultCount: request.defaultCount, maxCount: request.maxCount, strict: request.strict },
  );
}

/**
 * `$validate` (R4 resource-operation-validate): the body is the resource or a Parameters with
 * `resource` and optional `mode`. Validation that ran answers an OperationOutcome (200) even
 * when it lists errors; only a malformed request is itself an error.
 */
export async function validateOperation(context: FhirContext, resourceType: string | undefined, id: string | undefined, body: unknown): Promise<OperationOutcome> {
  const type = assertResourceType(resourceType);
  const { resource, mode } = unwrapValidateParameters(body, type);
  if (mode === 'delete') {
    const key = resourceKey(context, type, id);
    const current = await context.repository.readCurrent(key);
    if (!current || current.deleted) {
      throw FhirError.notFound(`${describe(key)} not found`);
    }
    return outcome([]);
  }
  const issues: OperationOutcomeIssue[] = [];
  const bodyType = (resource as { resourceType?: unknown } | undefined)?.resourceType;
  if (bodyType !== type) {
    issues.push(issue('invalid', `Resource type "${String(bodyType)}" does not match "${type}"`, 'resourceType'));
  } else {
    issues.push(...validateResource(resource));
  }
  if (id !== undefined) {
    parseId(id);
    if (mode === 'update' && (resource as Resource).id !== id) {
      issues.push(issue('invalid', `Resource id must be "${id}" to update ${type}/${id}`, `${type}.id`));
    }
  }
  return outcome(issues);
}

function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.length > 0 ? issues : [issue('informational', 'Validation successful: no issues found', undefined, 'information')],
  };
}

const VALIDATE_MODES = new Set(['create', 'update', 'delete']);

/**
 * The resource type a `$validate` at the server base validates: the body's, or that of the
 * `resource` parameter of a Parameters body.
 */
export function validatedType(body: unknown): string {
  const named = (value: unknown) => (typeof value === 'object' && value !== null ? (value as { resourceType?: unknown }).resourceType : undefined);
  const parameters = body as { parameter?: { name?: string; resource?: unknown }[] } | undefined;
  const type = named(body) === 'Parameters' && Array.isArray(parameters?.parameter) ? named(parameters.parameter.find((p) => p?.name === 'resource')?.resource) : named(body);
  if (typeof type !== 'string') {
    throw FhirError.badRequest('$validate at the server base takes a resource, or a Parameters whose "resource" parameter is one', 'resourceType');
  }
  return type;
}

function unwrapValidateParameters(body: unknown, resourceType: string): { resource: unknown; mode?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw FhirError.badRequest('Request body must be a FHIR resource or a Parameters resource');
  }
  const parameters = body as { resourceType?: string; parameter?: { name?: string; resource?: unknown; valueCode?: string; valueUri?: string }[] };
  if (parameters.resourceType !== 'Parameters' || resourceType === 'Parameters') {
    return { resource: body };
  }
  const byName = (name: string) => parameters.parameter?.find((p) => p.name === name);
  const resource = byName('resource')?.resource;
  const mode = byName('mode')?.valueCode;
  if (mode !== undefined && !VALIDATE_MODES.has(mode)) {
    throw FhirError.badRequest(`Unsupported $validate mode "${mode}": use create, update or delete`, 'Parameters.parameter');
  }
  // Deleting needs no resource; every other mode validates one.
  if (resource === undefined && mode !== 'delete') {
    throw FhirError.badRequest('Parameters must contain a "resource" parameter', 'Parameters.parameter');
  }
  if (byName('profile')) {
    throw FhirError.of(400, 'not-supported', 'Validation against a profile is not supported; omit "profile" to validate against the base R4 definitions', 'Parameters.parameter');
  }
  return { resource, mode };
}

export function requireLive(key: ResourceKey, current: ResourceVersion | undefined): Resource {
  if (!current) {
    throw FhirError.notFound(`${describe(key)} not found`);
  }
  if (current.deleted || !current.resource) {
    throw FhirError.gone(`${describe(key)} was deleted (version ${current.version})`);
  }
  return current.resource;
}

const PATCH_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** RFC 6902 shape checks, so a malformed patch is a 400 naming the operation, not a crash. */
export function parseJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    throw FhirError.badRequest('A JSON Patch body must be an array of operations');
  }
  assertWellFormedJson(body, '');
  body.forEach((operation: unknown, index) => {
    const op = operation as { op?: unknown; path?: unknown; from?: unknown } | null;
    if (typeof op !== 'object' || op === null || !PATCH_OPS.has(op.op as string) || typeof op.path !== 'string') {
      throw FhirError.badRequest(`JSON Patch operation ${index} needs "op" (add, remove, replace, move, copy, test) and a string "path"`, `[${index}]`);
    }
    if (['add', 'replace', 'test'].includes(op.op as string) && !('value' in op)) {
      throw FhirError.badRequest(`JSON Patch operation ${index} (${String(op.op)}) needs a "value"`, `[${index}]`);
    }
    if (['move', 'copy'].includes(op.op as string) && typeof op.from !== 'string') {
      throw FhirError.badRequest(`JSON Patch operation ${index} (${String(op.op)}) needs a string "from"`, `[${index}]`);
    }
    for (const pointer of [op.path, op.from]) {
      if (typeof pointer === 'string' && pointer !== '' && !pointer.startsWith('/')) {
        throw FhirError.badRequest(`JSON Patch operation ${index}: "${pointer.slice(0, 100)}" is not a JSON Pointer (RFC 6901): it must start with /`, `[${index}]`);
      }
    }
  });
  return body as JsonPatchOperation[];
}
