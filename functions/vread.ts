import { vreadResource } from '../core/fhir/interactions.js';
import { versionReference } from '../core/fhir/result-bundles.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { jsonResponse, versionHeaders } from './lib/http.js';

/** GET /{resourceType}/{id}/_history/{versionId} */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id, versionId } = event.pathParameters ?? {};
  const version = await vreadResource(context, resourceType, id, versionId);
  context.accessed.push(versionReference(version));
  return jsonResponse(200, version.resource, versionHeaders(version));
}, { audit: () => 'vread' });
