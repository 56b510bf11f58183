/**
 * The shared Synthea data (`../shared/data/synthea-r4/`: 33 transaction Bundles, one per patient)
 * as plain resources: each entry's resource gets the id of its `urn:uuid:` fullUrl and every
 * `urn:uuid:X` reference anywhere becomes `Type/X`, which is what a transaction would store.
 * Organizations and Practitioners recur across Bundles with the same content: kept once.
 * Used by tests and benchmarks until transactions land. `copies` makes more patients from the
 * same data (every id suffixed per copy) for scale figures.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Resource } from '@medplum/fhirtypes';

/** `../shared/data/synthea-r4/` beside the repository. */
export const SYNTHEA_DIR = fileURLToPath(new URL('../../../shared/data/synthea-r4/', import.meta.url));

const URN_UUID = 'urn:uuid:';

export async function syntheaResources(dir: string = SYNTHEA_DIR, copies = 1): Promise<Resource[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  if (files.length === 0) {
    throw new Error(`No Synthea Bundles (*.json) in ${dir}`);
  }
  const typeOfUuid = new Map<string, string>();
  const byKey = new Map<string, { resource: Resource; json: string }>();
  for (const file of files) {
    const bundle = JSON.parse(await readFile(join(dir, file), 'utf8')) as Bundle;
    for (const { fullUrl, resource } of bundle.entry ?? []) {
      if (!resource || !fullUrl?.startsWith(URN_UUID)) {
        throw new Error(`${file}: an entry without a resource or a urn:uuid fullUrl (${fullUrl})`);
      }
      const id = fullUrl.slice(URN_UUID.length);
      typeOfUuid.set(id, resource.resourceType);
      const key = `${resource.resourceType}/${id}`;
      const json = JSON.stringify({ ...resource, id });
      const seen = byKey.get(key);
      if (seen && seen.json !== json) {
        throw new Error(`${file}: ${key} appears twice with different content`);
      }
      byKey.set(key, { resource: JSON.parse(json) as Resource, json });
    }
  }
  const resources = [...byKey.values()].map(({ resource }) => resource);
  return Array.from({ length: copies }, (_, copy) => {
    const suffix = copy === 0 ? '' : `-x${copy}`;
    return resources.map((resource) => rewriteReferences({ ...resource, id: `${resource.id}${suffix}` }, typeOfUuid, suffix) as Resource);
  }).flat();
}

/** Replaces each `urn:uuid:X` string naming an entry of the Bundles by `Type/X<suffix>`, anywhere. */
function rewriteReferences(value: unknown, typeOfUuid: ReadonlyMap<string, string>, suffix: string): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith(URN_UUID)) {
      return value;
    }
    const id = value.slice(URN_UUID.length);
    const type = typeOfUuid.get(id);
    if (!type) {
      throw new Error(`A reference to ${value}, which no Bundle entry has as its fullUrl`);
    }
    return `${type}/${id}${suffix}`;
  }
  if (Array.isArray(value)) {
    return value.map((item) => rewriteReferences(item, typeOfUuid, suffix));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rewriteReferences(item, typeOfUuid, suffix)]));
  }
  return value;
}
