/**
 * The FHIR REST interactions this server answers (R4 http.html), as one table of method and
 * path patterns. The router (core/router/) dispatches every request through it — an HTTP
 * request and a Bundle entry alike — so an interaction is recognised, checked and answered the
 * same way whichever transport carried it. `functions/routes.ts` maps the interactions onto
 * API Gateway routes and Lambda functions.
 *
 * Pattern segments: a literal (`_history`, `$validate`), `{type}`, `{id}`, `{vid}`,
 * `{compartmentType}`, or `{operation}` (any `$name`). The most specific pattern wins: a
 * literal beats a variable, so `Patient/_history` is type history, not a read of id `_history`,
 * and `DELETE /metadata` is 405, not a conditional delete of a type called `metadata`.
 */
import { FhirError } from '../errors.js';
import type { FhirMethod } from './request.js';

export type Interaction =
  | 'capabilities'
  | 'create'
  | 'read'
  | 'vread'
  | 'update'
  | 'conditional-update'
  | 'patch'
  | 'conditional-patch'
  | 'delete'
  | 'conditional-delete'
  | 'history-instance'
  | 'history-type'
  | 'search-type'
  | 'search-compartment'
  | 'search-system'
  | 'validate'
  | 'batch'
  | 'export-system'
  | 'export-patient'
  | 'export-group'
  | 'export-status'
  | 'export-cancel'
  | 'analytics-run'
  | 'analytics-report'
  | 'unknown-operation';

export interface FhirRoute {
  readonly method: FhirMethod;
  readonly path: string;
  readonly interaction: Interaction;
  /** Also answers in HTML (`_format=html`); every other route answers 406 to that. */
  readonly html?: true;
}

export const FHIR_ROUTES: readonly FhirRoute[] = [
  { method: 'GET', path: 'metadata', interaction: 'capabilities' },
  { method: 'GET', path: '', interaction: 'search-system' },
  { method: 'POST', path: '', interaction: 'batch' },
  { method: 'POST', path: '_search', interaction: 'search-system' },
  { method: 'POST', path: '$validate', interaction: 'validate' },
  // Bulk Data $export (core/export/): kick-off at three levels, then the job's status URL.
  { method: 'GET', path: '$export', interaction: 'export-system' },
  { method: 'POST', path: '$export', interaction: 'export-system' },
  { method: 'GET', path: 'Patient/$export', interaction: 'export-patient' },
  { method: 'POST', path: 'Patient/$export', interaction: 'export-patient' },
  { method: 'GET', path: 'Group/{id}/$export', interaction: 'export-group' },
  { method: 'POST', path: 'Group/{id}/$export', interaction: 'export-group' },
  { method: 'GET', path: '_export/{id}', interaction: 'export-status' },
  { method: 'DELETE', path: '_export/{id}', interaction: 'export-cancel' },
  // Analytics reports (core/analytics/): start a run for the caller's tenant, then its status or the latest report.
  { method: 'POST', path: '$analytics', interaction: 'analytics-run' },
  { method: 'GET', path: '$analytics', interaction: 'analytics-report', html: true },
  { method: 'GET', path: '{operation}', interaction: 'unknown-operation' },
  { method: 'POST', path: '{operation}', interaction: 'unknown-operation' },
  { method: 'GET', path: '{type}', interaction: 'search-type' },
  { method: 'POST', path: '{type}', interaction: 'create' },
  { method: 'PUT', path: '{type}', interaction: 'conditional-update' },
  { method: 'PATCH', path: '{type}', interaction: 'conditional-patch' },
  { method: 'DELETE', path: '{type}', interaction: 'conditional-delete' },
  { method: 'POST', path: '{type}/_search', interaction: 'search-type' },
  { method: 'GET', path: '{type}/_history', interaction: 'history-type' },
  { method: 'POST', path: '{type}/$validate', interaction: 'validate' },
  { method: 'GET', path: '{type}/{operation}', interaction: 'unknown-operation' },
  { method: 'POST', path: '{type}/{operation}', interaction: 'unknown-operation' },
  { method: 'GET', path: '{type}/{id}', interaction: 'read' },
  { method: 'PUT', path: '{type}/{id}', interaction: 'update' },
  { method: 'PATCH', path: '{type}/{id}', interaction: 'patch' },
  { method: 'DELETE', path: '{type}/{id}', interaction: 'delete' },
  { method: 'GET', path: '{type}/{id}/_history', interaction: 'history-instance' },
  { method: 'POST', path: '{type}/{id}/$validate', interaction: 'validate' },
  { method: 'GET', path: '{type}/{id}/{operation}', interaction: 'unknown-operation' },
  { method: 'POST', path: '{type}/{id}/{operation}', interaction: 'unknown-operation' },
  { method: 'GET', path: '{type}/{id}/{compartmentType}', interaction: 'search-compartment' },
  { method: 'GET', path: '{type}/{id}/_history/{vid}', interaction: 'vread' },
];

/** The path variables a match bound, decoded. */
export interface RouteParams {
  readonly type?: string;
  readonly id?: string;
  readonly vid?: string;
  readonly compartmentType?: string;
  readonly operation?: string;
}

export interface RouteMatch {
  readonly route: FhirRoute;
  readonly params: RouteParams;
}

type Segment = { readonly literal: string } | { readonly variable: keyof RouteParams };

const COMPILED = FHIR_ROUTES.map((route) => ({ route, segments: compile(route.path) }));

function compile(path: string): Segment[] {
  return path === '' ? [] : path.split('/').map((part) => (part.startsWith('{') ? { variable: part.slice(1, -1) as keyof RouteParams } : { literal: part }));
}

/** Whether a variable may bind `segment`: `_x` names are reserved words, `$x` are operations. */
function binds(variable: keyof RouteParams, segment: string): boolean {
  if (variable === 'operation') {
    return segment.startsWith('$');
  }
  return !segment.startsWith('$') && !segment.startsWith('_');
}

/**
 * The route of `method path` (path relative to the base, percent-encoded). 404 when no pattern
 * has this shape, 405 when one does but not for this method.
 */
export function matchRoute(method: FhirMethod, path: string): RouteMatch {
  const segments = splitPath(path);
  // Of the patterns this path fits, the most specific decide; a method they lack is 405.
  let fitting: { route: FhirRoute; params: Record<string, string> }[] = [];
  let mostLiterals = -1;
  for (const { route, segments: pattern } of COMPILED) {
    if (pattern.length !== segments.length) {
      continue;
    }
    const params: Record<string, string> = {};
    let literals = 0;
    const fits = pattern.every((part, index) => {
      if ('literal' in part) {
        literals++;
        return part.literal === segments[index];
      }
      params[part.variable] = segments[index];
      return binds(part.variable, segments[index]);
    });
    if (!fits || literals < mostLiterals) {
      continue;
    }
    if (literals > mostLiterals) {
      fitting = [];
      mostLiterals = literals;
    }
    fitting.push({ route, params });
  }
  const best = fitting.find(({ route }) => route.method === method);
  if (best) {
    return best;
  }
  const shown = `${method} /${path.slice(0, 100)}`;
  throw fitting.length > 0 ? FhirError.methodNotAllowed(`${shown}: method not allowed on this path`) : FhirError.notFound(`${shown}: no such FHIR interaction`);
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/').map(decodeSegment);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw FhirError.badRequest(`Malformed percent-encoding in the path segment "${segment.slice(0, 64)}"`);
  }
}
