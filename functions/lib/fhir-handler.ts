/**
 * What every FHIR handler shares, as middy middleware around a small interaction function:
 * Powertools structured logging (one line per request with tenant, status, duration and the
 * DynamoDB requests and capacity it cost), content negotiation, tenant resolution, the one
 * mapping from thrown errors to OperationOutcome responses, and the audit record of every read
 * of patient data (reads, vreads, searches, history), written before the response leaves: reads
 * change nothing in the table, so the stream cannot audit them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { AuditLog } from '../../core/audit/audit-log.js';
import { auditEvent, newAuditId, type AuditedInteraction } from '../../core/audit/audit-event.js';
import { ConfigError, config, type RuntimeConfig } from '../../core/config.js';
import { FhirError, toOperationOutcome } from '../../core/errors.js';
import type { FhirContext } from '../../core/fhir/interactions.js';
import { createDocumentClient, resetDynamoUsage } from '../../core/storage/dynamo-client.js';
import { ResourceRepository } from '../../core/storage/repository.js';
import { DynamoSearchEngine } from '../../core/search/dynamodb/engine.js';
import type { SearchEngine } from '../../core/search/engine.js';
import { assertJsonAcceptable, outcomeResponse } from './http.js';
import { principalOf, tenantOf } from './tenant.js';

export const logger = new Logger({ serviceName: 'fhir-api' });

export interface HandlerContext extends FhirContext {
  readonly config: RuntimeConfig;
  readonly principal: string;
  /** `Type/id/_history/n` of every resource the interaction returns, for its audit record. */
  readonly accessed: string[];
}

let shared: { config: RuntimeConfig; repository: ResourceRepository; searchEngine: SearchEngine; auditLog: AuditLog } | undefined;

/** Config and the DynamoDB client, created at the first request and reused while the process lives. */
function sharedResources() {
  if (!shared) {
    const resolved = config();
    const documents = createDocumentClient(resolved);
    const repository = new ResourceRepository(documents, resolved.tableName);
    shared = {
      config: resolved,
      repository,
      searchEngine: new DynamoSearchEngine(repository, resolved.maxSearchScan),
      auditLog: new AuditLog(documents, resolved.tableName),
    };
  }
  return shared;
}

export type Interaction = (event: APIGatewayProxyEvent, context: HandlerContext) => Promise<APIGatewayProxyResult>;

function errorResponse(error: unknown): APIGatewayProxyResult {
  if (error instanceof ConfigError) {
    logger.error('server misconfigured', { error });
    return outcomeResponse(500, FhirError.of(500, 'exception', 'Server misconfigured; see the function logs').outcome);
  }
  const { status, outcome } = toOperationOutcome(error);
  if (status >= 500) {
    logger.error('request failed', { error });
  }
  return outcomeResponse(status, outcome);
}

function wrap<C>(resolveContext: (event: APIGatewayProxyEvent) => C, interaction: (event: APIGatewayProxyEvent, context: C) => Promise<APIGatewayProxyResult>) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const started = performance.now();
      resetDynamoUsage();
      let response: APIGatewayProxyResult;
      try {
        assertJsonAcceptable(event);
        response = await interaction(event, resolveContext(event));
      } catch (error) {
        response = errorResponse(error);
      }
      logger.info('request', {
        method: event.httpMethod,
        path: event.path,
        status: response.statusCode,
        durationMs: Math.round(performance.now() - started),
        dynamodb: resetDynamoUsage(),
      });
      return response;
    });
}

export interface FhirHandlerOptions {
  /** The interaction to audit for this request; reads of patient data set it, writes are audited from the stream. */
  readonly audit?: (event: APIGatewayProxyEvent) => AuditedInteraction;
}

/** A handler for a tenant's data: the tenant is resolved before the interaction runs. */
export function fhirHandler(interaction: Interaction, options: FhirHandlerOptions = {}) {
  return wrap(
    (event): HandlerContext => {
      const { config: resolved, repository, searchEngine } = sharedResources();
      const tenant = tenantOf(event, resolved);
      logger.appendKeys({ tenant });
      return { config: resolved, repository, searchEngine, tenant, principal: principalOf(event, resolved), accessed: [] };
    },
    options.audit ? audited(interaction, options.audit) : interaction,
  );
}

/**
 * Records the AuditEvent of the request, whatever its outcome, before answering. If it cannot be
 * recorded the caller gets 503 and not the data: an access that leaves no trace must not happen.
 */
function audited(interaction: Interaction, interactionOf: (event: APIGatewayProxyEvent) => AuditedInteraction): Interaction {
  return async (event, context) => {
    let response: APIGatewayProxyResult;
    try {
      response = await interaction(event, context);
    } catch (error) {
      response = errorResponse(error);
    }
    const audited = interactionOf(event);
    const query = audited.startsWith('search') || audited.startsWith('history') ? requestTarget(event) : undefined;
    const record = auditEvent({
      id: newAuditId(),
      tenant: context.tenant,
      interaction: audited,
      recorded: new Date().toISOString(),
      status: response.statusCode,
      principal: context.principal,
      entities: context.accessed.length > 0 || query ? context.accessed : [event.path.replace(/^\//, '')],
      query,
      sourceAddress: event.requestContext?.identity?.sourceIp ?? undefined,
    });
    try {
      await sharedResources().auditLog.record(context.tenant, record);
    } catch (error) {
      logger.error('audit record failed', { error });
      return errorResponse(FhirError.of(503, 'transient', 'The access could not be audited; retry later'));
    }
    return response;
  };
}

/** The path and query string as requested, e.g. `/Observation?code=1234-5`. */
function requestTarget(event: APIGatewayProxyEvent): string {
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    for (const value of values ?? []) {
      query.append(name, value);
    }
  }
  const text = query.toString();
  return text ? `${event.path}?${text}` : event.path;
}

/** A handler that serves no tenant data (e.g. /metadata), reachable without a tenant. */
export function publicFhirHandler(interaction: (event: APIGatewayProxyEvent, context: { config: RuntimeConfig }) => Promise<APIGatewayProxyResult>) {
  return wrap(() => ({ config: sharedResources().config }), interaction);
}
