/**
 * The kick-off request of a Bulk Data export (Bulk Data Access IG v2, export.html), checked and
 * reduced to what a job needs: its level, the types, `_since`, and the `_typeFilter` queries.
 * Everything malformed or unsupported is a 400 here, before a job exists. Parameters come from
 * the query string (GET) or a `Parameters` body (POST).
 */
import type { Parameters, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import { parseSearchRequest } from '../fhir/interactions.js';
import { type FhirRequest, historyPageOf, mergeParameters, parseQueryString, type QueryParameters, resourceBody } from '../fhir/request.js';
import { isResourceType, resourceTypes } from '../r4/definitions.js';
import { patientCompartmentParameters } from '../r4/search-parameters.js';
import { matchesAll, type ResolvedCriterion } from '../search/match.js';

export type ExportLevel = 'system' | 'patient' | 'group';

export interface ExportRequest {
  readonly level: ExportLevel;
  /** The Group of a group-level export. */
  readonly groupId?: string;
  /** The types exported, sorted; all that the level allows when `_type` is absent. */
  readonly types: readonly string[];
  /** Whether the client named the types (`_type`); else the scope check needs every type. */
  readonly typesNamed: boolean;
  /** `_since` as an ISO instant: only resources last updated at or after it. */
  readonly since?: string;
  /** `_typeFilter` queries by type (`code=…&status=…`): a resource of a filtered type is exported when it matches one of them. */
  readonly typeFilters: Readonly<Record<string, readonly string[]>>;
}

/** `_outputFormat` values meaning NDJSON (IG: the server SHALL accept these). */
const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

const SUPPORTED = new Set(['_outputFormat', '_since', '_type', '_typeFilter']);
/** Parameters of the IG this server does not implement: refused, so a client never gets less than it asked for unknowingly. */
const UNSUPPORTED = new Set(['_elements', 'patient', 'includeAssociatedData', '_until', 'organizeOutputBy', 'allowPartialManifests']);

/** The Patient compartment's types, plus Patient itself: what patient- and group-level exports read. */
export function compartmentTypes(): string[] {
  return resourceTypes().filter((type) => type === 'Patient' || patientCompartmentParameters(type).length > 0);
}

export function parseExportRequest(request: FhirRequest, level: ExportLevel, groupId: string | undefined, maxRequestBytes: number): ExportRequest {
  if (request.body?.kind !== 'http') {
    throw FhirError.of(400, 'not-supported', '$export is asynchronous and cannot run inside a Bundle');
  }
  if (!request.prefer.respondAsync) {
    throw FhirError.badRequest('$export needs the header "Prefer: respond-async" (Bulk Data Access IG, kick-off request)', 'Prefer');
  }
  const parameters = request.method === 'POST' ? mergeParameters(request.query, parametersBody(resourceBody(request, maxRequestBytes))) : request.query;
  for (const name of Object.keys(parameters)) {
    if (UNSUPPORTED.has(name)) {
      throw FhirError.of(400, 'not-supported', `${name} is not supported by this server's $export`, name);
    }
    if (!SUPPORTED.has(name)) {
      throw FhirError.badRequest(`Unknown $export parameter "${name.slice(0, 64)}"; supported: ${[...SUPPORTED].join(', ')}`, name);
    }
  }
  for (const format of parameters._outputFormat ?? []) {
    if (!NDJSON_FORMATS.has(format)) {
      throw FhirError.badRequest(`_outputFormat "${format.slice(0, 64)}" is not supported: use application/fhir+ndjson`, '_outputFormat');
    }
  }
  const allowed = level === 'system' ? resourceTypes() : compartmentTypes();
  const named = listOf(parameters._type);
  for (const type of named) {
    if (!isResourceType(type)) {
      throw FhirError.badRequest(`_type names "${type.slice(0, 64)}", which is not an R4 resource type`, '_type');
    }
    if (!allowed.includes(type)) {
      throw FhirError.badRequest(`_type names ${type}, which is not in the Patient compartment: a ${level}-level export has none`, '_type');
    }
  }
  const types = named.length > 0 ? [...new Set(named)].sort() : [...allowed];
  return {
    level,
    ...(groupId === undefined ? {} : { groupId }),
    types,
    typesNamed: named.length > 0,
    ...sinceOf(parameters),
    typeFilters: typeFiltersOf(parameters._typeFilter ?? [], types),
  };
}

function listOf(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
}

function sinceOf(parameters: QueryParameters): { since?: string } {
  if (parameters._since === undefined) {
    return {};
  }
  if (parameters._since.length > 1) {
    throw FhirError.badRequest('_since is given more than once', '_since');
  }
  const { since } = historyPageOf({ _since: parameters._since }, { defaultCount: 1, maxCount: 1 });
  return since === undefined ? {} : { since };
}

/**
 * `_typeFilter=Observation%3Fcode%3D1234-5` (IG: `[type]?[query]`, several OR-ed). Each query
 * is parsed now as a search of its type, so a malformed one fails the kick-off; it must be
 * matchable on the resource alone (no chains, `_has`, includes or result parameters).
 */
function typeFiltersOf(values: readonly string[], types: readonly string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const value of values.flatMap((text) => text.split(',')).filter(Boolean)) {
    const mark = value.indexOf('?');
    const type = mark === -1 ? value : value.slice(0, mark);
    if (mark === -1 || mark === value.length - 1) {
      throw FhirError.badRequest(`_typeFilter "${value.slice(0, 100)}" must be [type]?[search parameters]`, '_typeFilter');
    }
    if (!types.includes(type)) {
      throw FhirError.badRequest(`_typeFilter names ${type.slice(0, 64)}, which this export does not include`, '_typeFilter');
    }
    const query = value.slice(mark + 1);
    typeFilterCriteria(type, query);
    (filters[type] ??= []).push(query);
  }
  return filters;
}

/** The criteria of one `_typeFilter` query; 400 for what cannot be matched on the resource alone. */
export function typeFilterCriteria(type: string, query: string): ResolvedCriterion[] {
  const parameters = parseQueryString(query);
  let parsed;
  try {
    parsed = parseSearchRequest({ resourceType: type, parameters, strict: true, defaultCount: 1, maxCount: 1 });
  } catch (error) {
    throw error instanceof FhirError ? FhirError.badRequest(`_typeFilter ${type}?${query.slice(0, 100)}: ${error.outcome.issue?.[0]?.diagnostics ?? 'invalid'}`, '_typeFilter') : error;
  }
  const resultParameters = Object.keys(parameters).filter((name) => name.startsWith('_') && !['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', '_text', '_content', '_list'].includes(name));
  const plain = parsed.criteria.every((criterion) => 'chain' in criterion && criterion.chain.length === 0);
  if (!plain || resultParameters.length > 0) {
    throw FhirError.of(400, 'not-supported', `_typeFilter ${type}?${query.slice(0, 100)}: chains, _has and result parameters (${resultParameters.join(', ') || '_include, _sort, …'}) are not supported in _typeFilter`, '_typeFilter');
  }
  return parsed.criteria.map((criterion) => ({ kind: 'criterion', criterion: criterion as Extract<typeof criterion, { chain: unknown }> }));
}

/** Whether `resource` passes its type's `_typeFilter` queries (any of them), given their criteria. */
export function passesTypeFilter(resource: Resource, filters: readonly (readonly ResolvedCriterion[])[] | undefined): boolean {
  return filters === undefined || filters.length === 0 || filters.some((criteria) => matchesAll(resource, criteria));
}

/** A POST kick-off's `Parameters` body as query parameters (`valueString`, `valueInstant`, …). */
function parametersBody(body: unknown): QueryParameters {
  const parameters = body as Parameters;
  if (!parameters || typeof parameters !== 'object' || parameters.resourceType !== 'Parameters') {
    throw FhirError.badRequest('A POST $export carries a Parameters resource', 'Parameters');
  }
  const query: QueryParameters = Object.create(null);
  for (const [index, parameter] of (parameters.parameter ?? []).entries()) {
    const value = Object.entries(parameter).find(([key]) => key.startsWith('value'))?.[1];
    if (typeof parameter.name !== 'string' || (typeof value !== 'string' && typeof value !== 'boolean')) {
      throw FhirError.badRequest(`Parameters.parameter[${index}] needs a name and a primitive value`, `Parameters.parameter[${index}]`);
    }
    (query[parameter.name] ??= []).push(String(value));
  }
  return query;
}
