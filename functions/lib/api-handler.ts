/**
 * The Lambda handler every API function is made of: Powertools structured logging (one line per
 * request with tenant, status, duration and the DynamoDB requests and capacity it cost), content
 * negotiation, the caller's identity from the authorizer, and the request handed to the one
 * router (core/router/), which matches, answers and audits it. Each function serves its share of
 * the route table (`functions/routes.ts`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ConfigError, config } from '../../core/config.js';
import { FhirError, toOperationOutcome } from '../../core/errors.js';
import type { InteractionTable } from '../../core/router/interactions.js';
import { FhirRouter } from '../../core/router/router.js';
import { resetDynamoUsage } from '../../core/storage/dynamo-client.js';
import { Components, type Drivers } from '../../core/wiring.js';
import type { ApiFunctionSpec } from '../routes.js';
import { assertJsonAcceptable, fhirRequestOf, outcomeResult, proxyResultOf } from './http.js';
import { identityOf } from './tenant.js';

export const logger = new Logger({ serviceName: 'fhir-api' });

/** `drivers`: the clients this function's interactions need (the search and Bundle functions bring OpenSearch's). */
export function apiHandler(spec: ApiFunctionSpec, interactions: InteractionTable, drivers: Drivers = {}) {
  assertServes(spec, interactions);
  let router: FhirRouter | undefined;
  // Built at the first request, not at import: a misconfiguration answers 500 with a clear log line.
  const routerOf = (): FhirRouter => {
    router ??= new FhirRouter(new Components(config(), drivers), {
      serves: new Set(spec.interactions),
      interactions,
      onUnexpectedError: (error, request) => logger.error('request failed', { error, method: request.method, path: request.path }),
    });
    return router;
  };
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const started = performance.now();
      resetDynamoUsage();
      let result: APIGatewayProxyResult;
      try {
        assertJsonAcceptable(event);
        const resolved = config();
        const response = await routerOf().handle(fhirRequestOf(event, resolved), () => {
          const identity = identityOf(event, resolved);
          logger.appendKeys({ tenant: identity.tenant });
          return { identity, sourceAddress: event.requestContext?.identity?.sourceIp ?? undefined };
        });
        result = proxyResultOf(response);
      } catch (error) {
        result = errorResult(error);
      }
      logger.info('request', {
        method: event.httpMethod,
        path: event.path,
        status: result.statusCode,
        durationMs: Math.round(performance.now() - started),
        dynamodb: resetDynamoUsage(),
      });
      return result;
    });
}

/** A module brings a function for every interaction the route table says it serves. */
function assertServes(spec: ApiFunctionSpec, interactions: InteractionTable): void {
  const missing = spec.interactions.filter((name) => name !== 'capabilities' && !interactions[name]);
  if (missing.length > 0) {
    throw new Error(`functions/${spec.module}.ts serves [${missing.join(', ')}] (functions/routes.ts) but brings no function for them`);
  }
}

function errorResult(error: unknown): APIGatewayProxyResult {
  if (error instanceof ConfigError) {
    logger.error('server misconfigured', { error });
    return outcomeResult(500, FhirError.of(500, 'exception', 'Server misconfigured; see the function logs').outcome);
  }
  const { status, outcome } = toOperationOutcome(error);
  if (status >= 500) {
    logger.error('request failed', { error });
  }
  return outcomeResult(status, outcome);
}
