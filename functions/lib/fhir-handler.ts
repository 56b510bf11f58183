/**
 * What every FHIR handler shares, as middy middleware around a small interaction function:
 * Powertools structured logging (one line per request with tenant, status, duration and the
 * DynamoDB requests and capacity it cost), content negotiation, tenant resolution, and the one
 * mapping from thrown errors to OperationOutcome responses.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ConfigError, config, type RuntimeConfig } from '../../core/config.js';
import { FhirError, toOperationOutcome } from '../../core/errors.js';
import type { FhirContext } from '../../core/fhir/interactions.js';
import { createDocumentClient, resetDynamoUsage } from '../../core/storage/dynamo-client.js';
import { ResourceRepository } from '../../core/storage/repository.js';
import { DynamoSearchEngine } from '../../core/search/dynamo-engine.js';
import type { SearchEngine } from '../../core/search/engine.js';
import { assertJsonAcceptable, outcomeResponse } from './http.js';
import { tenantOf } from './tenant.js';

export const logger = new Logger({ serviceName: 'fhir-api' });

export interface HandlerContext extends FhirContext {
  readonly config: RuntimeConfig;
}

let shared: { config: RuntimeConfig; repository: ResourceRepository; searchEngine: SearchEngine } | undefined;

/** Config and the DynamoDB client, created at the first request and reused while the process lives. */
function sharedResources() {
  if (!shared) {
    const resolved = config();
    const repository = new ResourceRepository(createDocumentClient(resolved), resolved.tableName);
    shared = { config: resolved, repository, searchEngine: new DynamoSearchEngine(repository, resolved.maxSearchScan) };
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

/** A handler for a tenant's data: the tenant is resolved before the interaction runs. */
export function fhirHandler(interaction: Interaction) {
  return wrap((event): HandlerContext => {
    const { config: resolved, repository, searchEngine } = sharedResources();
    const tenant = tenantOf(event, resolved);
    logger.appendKeys({ tenant });
    return { config: resolved, repository, searchEngine, tenant };
  }, interaction);
}

/** A handler that serves no tenant data (e.g. /metadata), reachable without a tenant. */
export function publicFhirHandler(interaction: (event: APIGatewayProxyEvent, context: { config: RuntimeConfig }) => Promise<APIGatewayProxyResult>) {
  return wrap(() => ({ config: sharedResources().config }), interaction);
}
