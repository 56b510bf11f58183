import { FhirError } from '../core/errors.js';
import { validateOperation } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { jsonResponse, parseJsonBody } from './lib/http.js';

const VALIDATE = '$validate';

/**
 * POST /{resourceType}/$validate and POST /{resourceType}/{id}/$validate. API Gateway routes
 * the type-level form as POST /{resourceType}/{id}, so `id` is the operation name there.
 */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id, operation } = event.pathParameters ?? {};
  const operationName = operation ?? id;
  if (operationName !== VALIDATE) {
    throw FhirError.notFound(`Unknown operation "${String(operationName).slice(0, 64)}": this server supports ${VALIDATE}`);
  }
  const body = parseJsonBody(event, 'resource', context.config.maxRequestBytes);
  const outcome = await validateOperation(context, resourceType, operation === undefined ? undefined : id, body);
  return jsonResponse(200, outcome);
});
