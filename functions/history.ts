import { historyBundle, versionReference } from '../core/fhir/result-bundles.js';
import { instanceHistory, typeHistory } from '../core/fhir/interactions.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { baseUrlOf, jsonResponse, queryOf } from './lib/http.js';
import { pageLinks, pageRequest } from './lib/paging.js';

/** GET /{resourceType}/{id}/_history and GET /{resourceType}/_history: newest first, paged. */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id } = event.pathParameters ?? {};
  const page = pageRequest(event, context.config);
  const history = id === undefined ? await typeHistory(context, resourceType, page) : await instanceHistory(context, resourceType, id, page);
  context.accessed.push(...history.items.map(versionReference));
  return jsonResponse(200, historyBundle(baseUrlOf(event), history.items, pageLinks(event, queryOf(event), page, { next: history.next })));
}, { audit: (event) => (event.pathParameters?.id === undefined ? 'history-type' : 'history-instance') });
