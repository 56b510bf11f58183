import { conditionalDelete, criteriaOf } from '../core/fhir/conditional.js';
import { deleteResource } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { ifMatchVersion, jsonResponse, queryOf, versionHeaders } from './lib/http.js';

/**
 * DELETE /{resourceType}/{id}, or DELETE /{resourceType}?criteria (conditional: several matches
 * are 412, none is 204). 204, with the deletion's version as ETag when one was written.
 */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id } = event.pathParameters ?? {};
  const ifMatch = ifMatchVersion(event);
  const result =
    id === undefined ? await conditionalDelete(context, criteriaOf(resourceType, queryOf(event)), ifMatch) : await deleteResource(context, resourceType, id, ifMatch);
  return jsonResponse(204, undefined, result?.written && result.version ? { ETag: versionHeaders(result.version).ETag } : {});
});
