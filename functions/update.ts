import { updateResource } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { ifMatchVersion, parseJsonBody, writeResponse } from './lib/http.js';

/** PUT /{resourceType}/{id}: update, or update-as-create with a client-chosen id. */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id } = event.pathParameters ?? {};
  const ifMatch = ifMatchVersion(event);
  const body = parseJsonBody(event, 'resource', context.config.maxRequestBytes);
  const { version, created } = await updateResource(context, resourceType, id, body, ifMatch);
  return writeResponse(event, created ? 201 : 200, version);
});
