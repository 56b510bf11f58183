/**
 * The Synthea R4 sample (33 transaction Bundles, one per patient, about 6,700 resources) as a
 * realistic search fixture, loaded without transaction support: the resources are written one by
 * one with update-as-create (PUT), several at a time.
 *
 * The resources come from `scripts/load/synthea.ts`:
 *
 *   const resources = await syntheaResources();
 *   await loadSynthea(resources, putVia(api, tenant));
 *
 * Also here: the small, independent oracle the tests compute expected answers with, in plain
 * TypeScript over the same resources (never through the server).
 */
import type { CodeableConcept, Resource } from '@medplum/fhirtypes';
import type { ApiResponse, RequestOptions } from '../support/local-api.js';

/** Writes one resource; `detail` explains a refusal. */
export type PutResource = (resource: Resource) => Promise<{ readonly status: number; readonly detail?: string }>;

interface RestClient {
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
}

/** A `PutResource` over the REST API (`useLocalApi()` or the like), in one tenant. */
export function putVia(api: RestClient, tenant: string): PutResource {
  return async (resource) => {
    const response = await api.request('PUT', `/${resource.resourceType}/${resource.id}`, { body: resource, tenant });
    return { status: response.status, detail: response.status >= 300 ? response.text.slice(0, 300) : undefined };
  };
}

/**
 * PUTs every resource, `concurrency` at a time. Each must be created (201), or updated (200)
 * when the tenant already held it; otherwise the load fails listing the refusals.
 */
export async function loadSynthea(resources: readonly Resource[], put: PutResource, concurrency = 8): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < resources.length; index = next++) {
      const resource = resources[index]!;
      const { status, detail } = await put(resource);
      if (status !== 201 && status !== 200) {
        failures.push(`${resource.resourceType}/${resource.id}: HTTP ${status} ${detail ?? ''}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failures.length > 0) {
    throw new Error(`${failures.length} of ${resources.length} Synthea resources were refused, e.g.:\n${failures.slice(0, 10).join('\n')}`);
  }
}

// ---- the oracle: R4 search semantics over plain JSON, for the few parameters the tests use ----

/** Lower case, accents removed (search.html#string). */
export function normalize(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Every string part of every HumanName (the `name` parameter). */
export function nameParts(resource: any): string[] {
  return (resource.name ?? []).flatMap((name: any) => [name.family, ...(name.given ?? []), ...(name.prefix ?? []), ...(name.suffix ?? []), name.text].filter(Boolean));
}

/** String search, default modifier: some value starts with the search value. */
export function startsWith(values: readonly string[], search: string): boolean {
  return values.some((value) => normalize(value).startsWith(normalize(search)));
}

export function hasCoding(concept: CodeableConcept | undefined, system: string, code: string): boolean {
  return (concept?.coding ?? []).some((coding) => coding.system === system && coding.code === code);
}

/** `Patient/123` → `123` when the reference is to that type. */
export function referencedId(reference: { reference?: string } | undefined, type: string): string | undefined {
  const prefix = `${type}/`;
  return reference?.reference?.startsWith(prefix) ? reference.reference.slice(prefix.length) : undefined;
}

/** The instant range a FHIR date, dateTime or instant stands for, in epoch ms (inclusive). */
export function dateRange(value: string): [number, number] {
  const date = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value);
  if (date) {
    const [year, month, day] = [Number(date[1]), date[2] ? Number(date[2]) - 1 : undefined, date[3] ? Number(date[3]) : undefined];
    const start = Date.UTC(year, month ?? 0, day ?? 1);
    const end = day !== undefined ? Date.UTC(year, month!, day + 1) : month !== undefined ? Date.UTC(year, month + 1, 1) : Date.UTC(year + 1, 0, 1);
    return [start, end - 1];
  }
  const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!dateTime) {
    throw new Error(`Not a FHIR date or dateTime the oracle knows: ${value}`);
  }
  const start = Date.parse(value);
  // Whole seconds stand for the whole second; fractions are taken as written.
  return [start, dateTime[1] ? start : start + 999];
}

/** A Period's range: a missing start or end is open (search.html#date). */
export function periodRange(period: { start?: string; end?: string } | undefined): [number, number] | undefined {
  if (!period || (!period.start && !period.end)) {
    return undefined;
  }
  return [period.start ? dateRange(period.start)[0] : -Infinity, period.end ? dateRange(period.end)[1] : Infinity];
}

export type DatePrefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb';

/** search.html#prefix on ranges: `target` is the resource's range, `search` the query value's. */
export function dateMatches(prefix: DatePrefix, target: [number, number], search: [number, number]): boolean {
  const [t0, t1] = target;
  const [s0, s1] = search;
  const contained = s0 <= t0 && t1 <= s1;
  switch (prefix) {
    case 'eq':
      return contained;
    case 'ne':
      return !contained;
    case 'gt':
      return t1 > s1;
    case 'lt':
      return t0 < s0;
    case 'ge':
      return t1 > s1 || contained;
    case 'le':
      return t0 < s0 || contained;
    case 'sa':
      return t0 > s1;
    case 'eb':
      return t1 < s0;
  }
}
