/**
 * One function per FHIR interaction of the route table (core/fhir/routes.ts): read the request's
 * parts, call core/fhir, and build the response with core/fhir/response.ts. Transport-neutral:
 * the same function answers an HTTP request and a Bundle entry.
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { AuditedInteraction } from '../audit/audit-event.js';
import type { RuntimeConfig } from '../config.js';
import { FhirError, informationOutcome, issue } from '../errors.js';
import { processBundle } from '../fhir/batch.js';
import { capabilityStatement } from '../fhir/capability.js';
import {
  conditionalCreate,
  conditionalDelete as deleteMatch,
  conditionalPatch as patchMatch,
  conditionalUpdate as updateMatch,
  criteriaOf,
  ifNoneExistCriteria,
} from '../fhir/conditional.js';
import {
  createResource,
  deleteResource,
  type FhirContext,
  instanceHistory,
  patchResource,
  readResource,
  parseSearchRequest,
  typeHistory,
  updateResource,
  validatedType,
  validateOperation,
  vreadResource,
  withinConfinement,
} from '../fhir/interactions.js';
import type { Identity } from '../auth/identity.js';
import { authorizeAnalytics, authorizeExport, authorizeLinkedTypes, visibleIncludes } from './access.js';
import type { BulkExports } from '../export/exports.js';
import type { AnalyticsRequests } from '../analytics/requests.js';
import { type ExportLevel, parseExportRequest } from '../export/parameters.js';
import { type FhirRequest, formBody, historyPageOf, ifMatchOf, mergeParameters, patchBody, type QueryParameters, resourceBody } from '../fhir/request.js';
import { type FhirResponse, okResponse, pageLinks, resourceResponse, writeResponse } from '../fhir/response.js';
import { historyBundle, searchsetBundle, versionReference } from '../fhir/result-bundles.js';
import type { Interaction, RouteParams } from '../fhir/routes.js';
import type { SearchEngine } from '../search/engine.js';
import { subset } from '../search/summary.js';

/** What an interaction works with, for one request. */
export interface Exchange {
  readonly context: FhirContext;
  /** Who is calling: its scopes decide what searches may look into and which includes it sees. */
  readonly identity: Identity;
  readonly config: RuntimeConfig;
  /** The engine searches answer with (OpenSearch behind the router when configured); conditional operations use `context.searchEngine`. */
  readonly search: SearchEngine;
  /** `Type/id/_history/n` of every resource the interaction returns, for its audit record. */
  readonly accessed: string[];
  /** Dispatches a Bundle entry through the router, as the same request over HTTP would be. */
  readonly dispatch: (request: FhirRequest) => Promise<FhirResponse>;
  /** Checks a request's scopes (403) and returns the patient it is confined to, as `dispatch` does for a batch entry. */
  readonly authorize: (request: FhirRequest) => string | undefined;
  /** Told of an error that is not a FhirError (a bug or an outage), which the caller sees only as a 500. */
  readonly onUnexpectedError: (error: unknown) => void;
  /** Bulk Data `$export` jobs. */
  readonly exports: BulkExports;
  /** `$analytics` runs and reports. */
  readonly analytics: AnalyticsRequests;
}

/** A table of the interactions one entry point serves, by their route-table name. */
export type InteractionTable = Partial<Record<Exclude<Interaction, 'capabilities'>, InteractionFunction>>;

export type InteractionFunction = (request: FhirRequest, params: RouteParams, exchange: Exchange) => Promise<FhirResponse>;

const VALIDATE = '$validate';

export const read: InteractionFunction = async (_request, { type, id }, { context, accessed }) => {
    const current = await readResource(context, type, id);
    accessed.push(versionReference(current));
    return resourceResponse(current);
  };

export const vread: InteractionFunction = async (_request, { type, id, vid }, { context, accessed }) => {
    const version = await vreadResource(context, type, id, vid);
    accessed.push(versionReference(version));
    return resourceResponse(version);
  };

export const create: InteractionFunction = async (request, { type }, { context, config }) => {
    const body = resourceBody(request, config.maxRequestBytes);
    if (request.ifNoneExist === undefined) {
      return writeResponse(request, 201, await createResource(context, type, body));
    }
    const { version, created } = await conditionalCreate(context, ifNoneExistCriteria(type, request.ifNoneExist), body);
    return writeResponse(request, created ? 201 : 200, version);
  };

export const update: InteractionFunction = async (request, { type, id }, { context, config }) => {
    const ifMatch = ifMatchOf(request);
    const { version, created } = await updateResource(context, type, id, resourceBody(request, config.maxRequestBytes), ifMatch);
    return writeResponse(request, created ? 201 : 200, version);
  };

export const conditionalUpdate: InteractionFunction = async (request, { type }, { context, config }) => {
    const ifMatch = ifMatchOf(request);
    const criteria = criteriaOf(type, request.query);
    const { version, created } = await updateMatch(context, criteria, resourceBody(request, config.maxRequestBytes), ifMatch);
    return writeResponse(request, created ? 201 : 200, version);
  };

export const patch: InteractionFunction = async (request, { type, id }, { context, config }) => {
    const ifMatch = ifMatchOf(request);
    return writeResponse(request, 200, await patchResource(context, type, id, patchBody(request, config.maxRequestBytes), ifMatch));
  };

export const conditionalPatch: InteractionFunction = async (request, { type }, { context, config }) => {
    const ifMatch = ifMatchOf(request);
    const criteria = criteriaOf(type, request.query);
    return writeResponse(request, 200, await patchMatch(context, criteria, patchBody(request, config.maxRequestBytes), ifMatch));
  };

export const deleteInteraction: InteractionFunction = async (request, { type, id }, { context }) => {
    const result = await deleteResource(context, type, id, ifMatchOf(request));
    return writeResponse(request, 204, result.written ? result.version : undefined);
  };

export const conditionalDelete: InteractionFunction = async (request, { type }, { context }) => {
    const ifMatch = ifMatchOf(request);
    const result = await deleteMatch(context, criteriaOf(type, request.query), ifMatch);
    return writeResponse(request, 204, result?.written ? result.version : undefined);
  };

export const historyInstance: InteractionFunction = (request, { type, id }, exchange) => history(request, exchange, (page) => instanceHistory(exchange.context, type, id, page));

export const historyType: InteractionFunction = (request, { type }, exchange) => history(request, exchange, (page) => typeHistory(exchange.context, type, page));

export const searchType: InteractionFunction = (request, { type }, exchange) => search(request, exchange, { resourceType: type });

export const searchCompartment: InteractionFunction = (request, { type, id, compartmentType }, exchange) =>
    search(request, exchange, { resourceType: compartmentType, compartment: { resourceType: type as string, id: id as string } });

export const searchSystem: InteractionFunction = (request, _params, exchange) => search(request, exchange, {});

export const validate: InteractionFunction = async (request, { type, id }, { context, config, authorize }) => {
    const body = resourceBody(request, config.maxRequestBytes);
    if (type === undefined) {
      // At the server base the body names the type; its scopes are checked as POST /[type]/$validate's.
      const named = validatedType(body);
      authorize({ ...request, path: `${named}/${VALIDATE}` });
      return okResponse(await validateOperation(context, named, undefined, body));
    }
    return okResponse(await validateOperation(context, type, id, body));
  };

export const batch: InteractionFunction = async (request, _params, { context, config, dispatch, authorize, onUnexpectedError }) =>
    okResponse(
      await processBundle(context, resourceBody(request, config.maxRequestBytes), {
        request,
        dispatch,
        authorizeEntry: authorize,
        searchLimits: { defaultCount: config.defaultPageSize, maxCount: config.maxPageSize },
        onUnexpectedError,
      }),
    );

export const unknownOperation: InteractionFunction = async (request, { operation }) => {
    throw FhirError.notFound(`Unknown operation "${String(operation).slice(0, 64)}" (${request.method} /${request.path.slice(0, 100)}): this server supports ${VALIDATE} and $export`);
  };

export const exportSystem: InteractionFunction = (request, _params, exchange) => exportKickOff(request, 'system', undefined, exchange);

export const exportPatient: InteractionFunction = (request, _params, exchange) => exportKickOff(request, 'patient', undefined, exchange);

export const exportGroup: InteractionFunction = (request, { id }, exchange) => exportKickOff(request, 'group', id, exchange);

export const exportStatus: InteractionFunction = async (_request, { id }, { exports, context, identity, accessed }): Promise<FhirResponse> => {
    const status = await exports.status(context.tenant, identity.subject, id as string);
    switch (status.kind) {
      case 'running':
        return { status: 202, headers: { 'X-Progress': status.progress, 'Retry-After': String(EXPORT_RETRY_AFTER_SECONDS) } };
      case 'failed':
        throw FhirError.of(500, 'exception', `Export ${id} failed: ${status.error}`);
      case 'completed':
        // The audit of a download: which files were handed out.
        accessed.push(`_export/${id}`, ...status.manifest.output.map((file) => new URL(file.url).pathname));
        return { status: 200, json: status.manifest, headers: { Expires: status.expires } };
    }
  };

export const analyticsRun: InteractionFunction = async (request, _params, { analytics, context, accessed }) => {
    authorizeAnalytics(context.confinedTo);
    const run = await analytics.start(context.tenant);
    accessed.push(`$analytics/${run.runId}`);
    return {
      status: 202,
      headers: { 'Content-Location': `${request.baseUrl}/$analytics?run=${run.runId}` },
      outcome: informationOutcome(`Analytics run ${run.runId} accepted; GET its Content-Location for the report`),
    };
  };

export const analyticsReport: InteractionFunction = async (request, _params, { analytics, context, accessed }) => {
    authorizeAnalytics(context.confinedTo);
    const format = request.format ?? 'json';
    const runId = request.query.run?.[0];
    let report: string;
    if (runId === undefined) {
      report = await analytics.latest(context.tenant, format);
    } else {
      const run = await analytics.status(context.tenant, runId);
      if (run.status === 'failed') {
        throw FhirError.of(500, 'exception', `Analytics run ${run.runId} failed: ${run.error ?? 'unknown error'}`);
      }
      if (run.status !== 'complete') {
        return { status: 202, headers: { 'X-Progress': run.status, 'Retry-After': '5' }, outcome: informationOutcome(`Analytics run ${run.runId} is ${run.status}`) };
      }
      report = await analytics.report(run, format);
    }
    accessed.push(`$analytics${runId ? `/${runId}` : ''}`);
    return format === 'html' ? { status: 200, html: report } : { status: 200, json: JSON.parse(report) as object };
  };

export const exportCancel: InteractionFunction = async (_request, { id }, { exports, context, identity, accessed }) => {
    await exports.cancel(context.tenant, identity.subject, id as string);
    accessed.push(`_export/${id}`);
    return { status: 202, outcome: informationOutcome(`Export ${id} canceled and its files removed`) };
  };

/** Seconds a client is asked to wait between status polls. */
const EXPORT_RETRY_AFTER_SECONDS = 2;

/** A Bulk Data kick-off: 202 with the status URL in Content-Location. */
async function exportKickOff(request: FhirRequest, level: ExportLevel, groupId: string | undefined, { exports, identity, config, context, accessed }: Exchange): Promise<FhirResponse> {
  const parsed = parseExportRequest(request, level, groupId, config.maxRequestBytes);
  authorizeExport(identity, parsed.typesNamed ? parsed.types : ['*']);
  const query = new URLSearchParams(Object.entries(request.query).flatMap(([name, values]) => values.map((value): [string, string] => [name, value]))).toString();
  const exportId = await exports.kickOff(context.tenant, identity.subject, parsed, `${request.baseUrl}/${request.path}${query ? `?${query}` : ''}`);
  accessed.push(`_export/${exportId}`);
  return {
    status: 202,
    headers: { 'Content-Location': `${request.baseUrl}/_export/${exportId}` },
    outcome: informationOutcome(`Export ${exportId} accepted; poll its Content-Location for the result`),
  };
}

/** The interaction's name in the AuditEvent of a read of patient data; writes are audited from the table's stream. */
export const AUDITED: Partial<Record<Interaction, AuditedInteraction>> = {
  read: 'read',
  vread: 'vread',
  'history-instance': 'history-instance',
  'history-type': 'history-type',
  'search-type': 'search-type',
  'search-compartment': 'search-type',
  'search-system': 'search-system',
  'export-system': 'operation',
  'export-patient': 'operation',
  'export-group': 'operation',
  'export-status': 'operation',
  'export-cancel': 'operation',
  'analytics-run': 'operation',
  'analytics-report': 'operation',
};

/** The name of every other interaction in the AuditEvent of a refusal (401, 403): a refused write never reaches the stream. */
export const AUDITED_WHEN_REFUSED: Record<Exclude<Interaction, keyof typeof AUDITED>, AuditedInteraction> = {
  capabilities: 'operation',
  create: 'create',
  update: 'update',
  'conditional-update': 'update',
  patch: 'patch',
  'conditional-patch': 'patch',
  delete: 'delete',
  'conditional-delete': 'delete',
  validate: 'operation',
  batch: 'batch',
  'unknown-operation': 'operation',
};

export function capabilities(request: FhirRequest): FhirResponse {
  return okResponse(capabilityStatement(request.baseUrl));
}

type HistoryPage = Parameters<typeof typeHistory>[2];

async function history(request: FhirRequest, { config, accessed }: Exchange, read: (page: HistoryPage) => ReturnType<typeof typeHistory>): Promise<FhirResponse> {
  const page = historyPageOf(request.query, { defaultCount: config.defaultPageSize, maxCount: config.maxPageSize });
  const found = await read(page);
  accessed.push(...found.items.map(versionReference));
  return okResponse(historyBundle(request.baseUrl, found.items, pageLinks(request, request.path, request.query, page, { next: found.next })));
}

/**
 * The search a `patient/` scope confines to its patient: the type searched within the patient's
 * compartment, and Patient search narrowed to the patient itself (a Patient is in its own
 * compartment by identity, which no compartment parameter expresses).
 */
function confinedSearch(
  patient: string | undefined,
  target: { resourceType?: string; compartment?: { resourceType: string; id: string } },
  parameters: QueryParameters,
): { resourceType?: string; compartment?: { resourceType: string; id: string }; parameters: QueryParameters } {
  if (patient === undefined) {
    return { ...target, parameters };
  }
  if (target.compartment && (target.compartment.resourceType !== 'Patient' || target.compartment.id !== patient)) {
    throw FhirError.forbidden(`This token is limited to the compartment of Patient/${patient}`);
  }
  if (target.resourceType === undefined) {
    throw FhirError.forbidden(`This token is limited to the compartment of Patient/${patient}: search one type at a time (Patient/${patient}/[type])`);
  }
  if (target.resourceType === 'Patient') {
    return { resourceType: 'Patient', parameters: mergeParameters(parameters, { _id: [patient] }) };
  }
  return { resourceType: target.resourceType, compartment: { resourceType: 'Patient', id: patient }, parameters };
}

/**
 * Type, compartment and system search. Unsupported parameters follow `Prefer: handling`:
 * strict → 400; lenient (default) → ignored, reported in an OperationOutcome entry and left out
 * of the links.
 */
async function search(
  request: FhirRequest,
  { context, config, search: engine, accessed, identity }: Exchange,
  target: { resourceType?: string; compartment?: { resourceType: string; id: string } },
): Promise<FhirResponse> {
  const parameters = request.method === 'POST' ? mergeParameters(request.query, formBody(request, config.maxRequestBytes)) : request.query;
  const confined = confinedSearch(context.confinedTo, target, parameters);
  const query = parseSearchRequest({ ...confined, strict: request.prefer.handling === 'strict', defaultCount: config.defaultPageSize, maxCount: config.maxPageSize });
  authorizeLinkedTypes(identity, query);
  const within = (resource: Resource) => withinConfinement(context, resource);
  const ignored = new Set(query.ignored.map((entry) => entry.name));
  const outcome: OperationOutcome | undefined =
    query.ignored.length > 0 ? { resourceType: 'OperationOutcome', issue: query.ignored.map((entry) => issue('not-supported', `${entry.name}: ${entry.reason}; ignored`, entry.name, 'warning')) } : undefined;
  const shown = (resources: readonly Resource[]) => resources.map((resource) => subset(resource, query));
  const respond = async (count: number) => {
    const found = await engine.search(context.tenant, { ...query, count });
    const result = { ...found, matches: found.matches.filter(within), included: visibleIncludes(identity, found.included, within) };
    const links = pageLinks(request, request.path.replace(/\/?_search$/, ''), parameters, { cursor: query.cursor, count: query.count }, result, (name) => !ignored.has(name));
    return { result, bundle: searchsetBundle(request.baseUrl, { ...result, matches: shown(result.matches), included: shown(result.included), outcome }, links) };
  };
  // Lambda cannot return a response above 6 MB: a page that would is asked again, shorter, in
  // proportion to its size; its `next` link continues right after its last match.
  let page = await respond(query.count);
  for (let size = responseBytes(page.bundle); size > MAX_SEARCH_RESPONSE_BYTES && page.result.matches.length > 1; size = responseBytes(page.bundle)) {
    page = await respond(Math.max(1, Math.min(page.result.matches.length - 1, Math.floor((page.result.matches.length * MAX_SEARCH_RESPONSE_BYTES) / size))));
  }
  accessed.push(...[...page.result.matches, ...page.result.included].map((resource) => `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`));
  return okResponse(page.bundle);
}

/**
 * Lambda's 6 MB response limit counts the whole proxy response, the body as an escaped JSON
 * string inside it: the body's escaped size must stay below it, with room for the headers.
 */
const MAX_SEARCH_RESPONSE_BYTES = 6 * 1024 * 1024 - 64 * 1024;

function responseBytes(body: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(body)));
}
