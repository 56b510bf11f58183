/**
 * Bundles answered by list interactions: `history` (R4 http.html#history) and `searchset`.
 * URLs are built from the server's base URL, which the handler layer knows.
 */
import type { Bundle, BundleEntry, BundleLink, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { ResourceVersion } from '../storage/repository.js';

export function weakEtag(version: number): string {
  return `W/"${version}"`;
}

/** An If-Match value, `W/"3"` (or `"3"`, or `3`) → 3; `what` names it in the error. */
export function versionOfEtag(text: string, what: string, expression?: string): number {
  const match = text.trim().match(/^(?:W\/)?"?([1-9][0-9]{0,11})"?$/);
  if (!match) {
    throw FhirError.badRequest(`Invalid ${what} "${text.slice(0, 64)}": expected an ETag like W/"3"`, expression);
  }
  return Number(match[1]);
}

export interface PageLinks {
  readonly self: string;
  readonly next?: string;
  readonly previous?: string;
}

function links(pageLinks: PageLinks): BundleLink[] {
  return [
    { relation: 'self', url: pageLinks.self },
    ...(pageLinks.next ? [{ relation: 'next', url: pageLinks.next }] : []),
    ...(pageLinks.previous ? [{ relation: 'previous', url: pageLinks.previous }] : []),
  ];
}

/** `Type/id/_history/n`: a version as a reference (history entries, audit records). */
export function versionReference(version: { resourceType: string; id: string; version: number }): string {
  return `${version.resourceType}/${version.id}/_history/${version.version}`;
}

export function historyBundle(baseUrl: string, versions: ResourceVersion[], pageLinks: PageLinks): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    link: links(pageLinks),
    entry: versions.map((version): BundleEntry => {
      const path = `${version.resourceType}/${version.id}`;
      return {
        fullUrl: `${baseUrl}/${path}`,
        ...(version.resource ? { resource: version.resource } : {}),
        request: { method: version.method, url: version.method === 'POST' ? version.resourceType : path },
        response: {
          status: version.deleted ? '204' : version.version === 1 ? '201' : '200',
          etag: weakEtag(version.version),
          lastModified: version.lastUpdated,
        },
      };
    }),
  };
}

export interface SearchsetContent {
  readonly matches: readonly Resource[];
  readonly included: readonly Resource[];
  readonly total?: number;
  /** Warnings about the search itself (e.g. ignored parameters). */
  readonly outcome?: OperationOutcome;
}

export function searchsetBundle(baseUrl: string, content: SearchsetContent, pageLinks: PageLinks): Bundle {
  const entry = (mode: 'match' | 'include') => (resource: Resource): BundleEntry => ({
    fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`,
    resource,
    search: { mode },
  });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(content.total === undefined ? {} : { total: content.total }),
    link: links(pageLinks),
    entry: [
      ...content.matches.map(entry('match')),
      ...content.included.map(entry('include')),
      ...(content.outcome ? [{ resource: content.outcome, search: { mode: 'outcome' as const } }] : []),
    ],
  };
}
