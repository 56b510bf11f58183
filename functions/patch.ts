import { patchResource } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { ifMatchVersion, parseJsonBody, writeResponse } from './lib/http.js';

/** PATCH /{resourceType}/{id} with a JSON Patch (RFC 6902) body. */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id } = event.pathParameters ?? {};
  const ifMatch = ifMatchVersion(event);
  const operations = parseJsonBody(event, 'json-patch', context.config.maxRequestBytes);
  const version = await patchResource(context, resourceType, id, operations, ifMatch);
  return writeResponse(event, 200, version);
});
