import { searchsetBundle } from '../core/fhir/result-bundles.js';
import { searchResources } from '../core/fhir/interactions.js';
import { issue } from '../core/errors.js';
import { subset } from '../core/search/summary.js';
import type { SearchEngine } from '../core/search/engine.js';
import { openSearchClient } from '../core/search/opensearch/client.js';
import { OpenSearchEngine } from '../core/search/opensearch/engine.js';
import { RoutedSearchEngine } from '../core/search/router.js';
import { fhirHandler, type HandlerContext } from './lib/fhir-handler.js';
import { baseUrlOf, jsonResponse, parseFormBody, preferences, queryOf } from './lib/http.js';
import { pageLinks } from './lib/paging.js';

/**
 * Type search `GET /{type}`, `POST /{type}/_search` (form body), compartment search
 * `GET /Patient/{id}/{type}` and system search `GET /?_type=…`. Unsupported parameters follow
 * `Prefer: handling`: strict → 400; lenient (default) → ignored, reported in an
 * OperationOutcome entry and left out of the links.
 */
export const handler = fhirHandler(async (event, context) => {
  const { resourceType, id, operation } = event.pathParameters ?? {};
  const parameters = queryOf(event);
  if (event.httpMethod === 'POST') {
    for (const [name, values] of Object.entries(parseFormBody(event, context.config.maxRequestBytes))) {
      (parameters[name] ??= []).push(...values);
    }
  }
  const { query, result } = await searchResources(context, {
    resourceType: id === undefined ? resourceType : operation,
    compartment: id === undefined ? undefined : { resourceType: resourceType as string, id },
    parameters,
    strict: preferences(event).handling === 'strict',
    defaultCount: context.config.defaultPageSize,
    maxCount: context.config.maxPageSize,
  }, searchRouter(context));
  context.accessed.push(...[...result.matches, ...result.included].map((resource) => `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`));
  const ignored = new Set(query.ignored.map((entry) => entry.name));
  const outcome =
    query.ignored.length > 0
      ? { resourceType: 'OperationOutcome' as const, issue: query.ignored.map((entry) => issue('not-supported', `${entry.name}: ${entry.reason}; ignored`, entry.name, 'warning')) }
      : undefined;
  const links = pageLinks(event, parameters, { cursor: query.cursor, count: query.count }, result, (name) => !ignored.has(name));
  const shown = (resources: typeof result.matches) => resources.map((resource) => subset(resource, query));
  return jsonResponse(200, searchsetBundle(baseUrlOf(event), { ...result, matches: shown(result.matches), included: shown(result.included), outcome }, links));
}, { audit: (event) => (event.pathParameters?.resourceType === undefined ? 'search-system' : 'search-type') });

let router: SearchEngine | undefined;

/** OpenSearch behind the router when configured (core/search/router.ts), else the table's engine; only this handler carries the OpenSearch client. */
function searchRouter(context: HandlerContext): SearchEngine {
  const index = context.config.openSearch;
  router ??= index ? new RoutedSearchEngine(context.searchEngine, new OpenSearchEngine(openSearchClient(index, context.config.region), index.index)) : context.searchEngine;
  return router;
}
