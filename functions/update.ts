import { conditionalUpdate, criteriaOf } from '../core/fhir/conditional.js';
import { updateResource } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { ifMatchVersion, parseJsonBody, queryOf, writeResponse } from './lib/http.js';

/**
 * PUT /{resourceType}/{id}: update, or update-as-create with a client-chosen id.
 * PUT /{resourceType}?criteria: conditional update of the one match (or create when none).
 */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id } = event.pathParameters ?? {};
  const ifMatch = ifMatchVersion(event);
  const body = parseJsonBody(event, 'resource', context.config.maxRequestBytes);
  const { version, created } =
    id === undefined
      ? await conditionalUpdate(context, criteriaOf(resourceType, queryOf(event)), body, ifMatch)
      : await updateResource(context, resourceType, id, body, ifMatch);
  return writeResponse(event, created ? 201 : 200, version);
});
