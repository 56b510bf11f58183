import { conditionalCreate, ifNoneExistCriteria } from '../core/fhir/conditional.js';
import { createResource } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { headersOf, parseJsonBody, writeResponse } from './lib/http.js';

/** POST /{resourceType}; with `If-None-Exist`, a conditional create: 200 with the match when there is one. */
export const handler = fhirHandler(async (event, context) => {
  const resourceType = event.pathParameters?.resourceType;
  const body = parseJsonBody(event, 'resource', context.config.maxRequestBytes);
  const ifNoneExist = headersOf(event)['if-none-exist'];
  if (ifNoneExist === undefined) {
    return writeResponse(event, 201, await createResource(context, resourceType, body));
  }
  const { version, created } = await conditionalCreate(context, ifNoneExistCriteria(resourceType, ifNoneExist), body);
  return writeResponse(event, created ? 201 : 200, version);
});
