import { createResource } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { parseJsonBody, writeResponse } from './lib/http.js';

/** POST /{resourceType} */
export const handler = fhirHandler(async (event, context) => {
  const body = parseJsonBody(event, 'resource', context.config.maxRequestBytes);
  const created = await createResource(context, event.pathParameters?.resourceType, body);
  return writeResponse(event, 201, created);
});
