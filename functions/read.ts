import { readResource } from '../core/fhir/interactions.js';
import { versionReference } from '../core/fhir/result-bundles.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { jsonResponse, versionHeaders } from './lib/http.js';

/** GET /{resourceType}/{id} */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id } = event.pathParameters ?? {};
  const current = await readResource(context, resourceType, id);
  context.accessed.push(versionReference(current));
  return jsonResponse(200, current.resource, versionHeaders(current));
}, { audit: () => 'read' });
