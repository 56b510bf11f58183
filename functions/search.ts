import { searchsetBundle } from '../core/fhir/bundles.js';
import { listResources } from '../core/fhir/interactions.js';
import { FhirError, issue } from '../core/errors.js';
import { fhirHandler } from './lib/fhir-handler.js';
import { baseUrlOf, jsonResponse, preferences, queryOf } from './lib/http.js';
import { pageLinks, pageRequest } from './lib/paging.js';

/** What this search answers today: a type's live resources, most recently updated first. */
const SUPPORTED = new Set(['_count', '_cursor', '_format']);
const DEFAULT_SORT = '-_lastUpdated';

function isSupported(name: string, values: string[]): boolean {
  return SUPPORTED.has(name) || (name === '_sort' && values.every((value) => value === DEFAULT_SORT));
}

/**
 * GET /{resourceType}. Unsupported parameters follow `Prefer: handling`: strict → 400;
 * lenient (default) → ignored, reported in an OperationOutcome entry, left out of `self`.
 */
export const handler = fhirHandler(async (event, context) => {
  const query = queryOf(event);
  const unsupported = Object.keys(query).filter((name) => !isSupported(name, query[name]));
  if (unsupported.length > 0 && preferences(event).handling === 'strict') {
    throw new FhirError(400, unsupported.map((name) => issue('not-supported', `Search parameter "${name}" is not supported`, name)));
  }
  const page = pageRequest(event, context.config);
  const result = await listResources(context, event.pathParameters?.resourceType, page);
  const outcome =
    unsupported.length > 0
      ? { resourceType: 'OperationOutcome' as const, issue: unsupported.map((name) => issue('not-supported', `Search parameter "${name}" is not supported and was ignored`, name, 'warning')) }
      : undefined;
  const links = pageLinks(event, page, result.next, (name) => isSupported(name, query[name]));
  return jsonResponse(200, searchsetBundle(baseUrlOf(event), result.items.flatMap((v) => (v.resource ? [v.resource] : [])), links, outcome));
});
