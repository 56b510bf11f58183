import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { RuntimeConfig } from '../../core/config.js';
import { FhirError } from '../../core/errors.js';
import type { PageRequest } from '../../core/fhir/interactions.js';
import type { PageLinks } from '../../core/fhir/result-bundles.js';
import { baseUrlOf, queryOf } from './http.js';

const FHIR_INSTANT_OR_DATE = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

export function pageRequest(event: APIGatewayProxyEvent, config: RuntimeConfig): PageRequest {
  const query = queryOf(event);
  const countText = query._count?.[0];
  let count = config.defaultPageSize;
  if (countText !== undefined) {
    count = Number(countText);
    if (!/^\d+$/.test(countText) || count < 1 || count > config.maxPageSize) {
      throw FhirError.badRequest(`_count must be an integer from 1 to ${config.maxPageSize}, got "${countText.slice(0, 32)}"`, '_count');
    }
  }
  const sinceText = query._since?.[0];
  let since: string | undefined;
  if (sinceText !== undefined) {
    const parsed = Date.parse(sinceText);
    if (!FHIR_INSTANT_OR_DATE.test(sinceText) || Number.isNaN(parsed)) {
      throw FhirError.badRequest(`_since must be a FHIR instant such as 2024-01-31T12:00:00Z, got "${sinceText.slice(0, 40)}"`, '_since');
    }
    since = new Date(parsed).toISOString();
  }
  return { count, since, cursor: query._cursor?.[0] };
}

/**
 * `self` repeats the request's parameters that `keep` accepts (a `POST …/_search` as its GET
 * equivalent); `next` and `previous` add their cursors.
 */
export function pageLinks(
  event: APIGatewayProxyEvent,
  parameters: Record<string, string[]>,
  page: { readonly cursor?: string; readonly count: number },
  cursors: { readonly next?: string; readonly previous?: string },
  keep: (name: string) => boolean = () => true,
): PageLinks {
  const url = `${baseUrlOf(event)}${event.path.replace(/\/_search$/, '')}`;
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(parameters)) {
    if (name !== '_cursor' && keep(name)) {
      values.forEach((value) => params.append(name, value));
    }
  }
  return {
    self: withQuery(url, params, page.cursor),
    next: cursors.next ? withQuery(url, params, cursors.next, page.count) : undefined,
    previous: cursors.previous ? withQuery(url, params, cursors.previous, page.count) : undefined,
  };
}

function withQuery(url: string, params: URLSearchParams, cursor: string | undefined, count?: number): string {
  const query = new URLSearchParams(params);
  if (count !== undefined) {
    query.set('_count', String(count));
  }
  if (cursor) {
    query.set('_cursor', cursor);
  }
  const text = query.toString();
  return text ? `${url}?${text}` : url;
}
