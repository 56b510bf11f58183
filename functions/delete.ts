import { deleteResource } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { ifMatchVersion, jsonResponse, versionHeaders } from './lib/http.js';

/** DELETE /{resourceType}/{id}: 204, with the deletion's version as ETag when one was written. */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id } = event.pathParameters ?? {};
  const result = await deleteResource(context, resourceType, id, ifMatchVersion(event));
  return jsonResponse(204, undefined, result.written && result.version ? { ETag: versionHeaders(result.version).ETag } : {});
});
