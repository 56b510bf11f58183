/**
 * The shared Synthea data (`../shared/data/synthea-r4/`: one transaction Bundle per patient) as
 * plain resources with their own ids, every `urn:uuid:` reference rewritten to `Type/id`: what a
 * transaction would store. Used by tests and benchmarks until transactions land; `multiply`
 * makes more patients from the same data (every id suffixed per copy) for scale figures.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Bundle, Resource } from '@medplum/fhirtypes';

export const SYNTHEA_DIR = fileURLToPath(new URL('../../../shared/data/synthea-r4/', import.meta.url));

export async function syntheaResources(dir = SYNTHEA_DIR, copies = 1): Promise<Resource[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json')).sort();
  const resources: Resource[] = [];
  for (const file of files) {
    const bundle = JSON.parse(await readFile(`${dir}/${file}`, 'utf8')) as Bundle;
    const entries = (bundle.entry ?? []).flatMap((entry) => (entry.resource && entry.fullUrl ? [{ fullUrl: entry.fullUrl, resource: entry.resource }] : []));
    const types = new Map(entries.map(({ fullUrl, resource }) => [fullUrl, resource.resourceType]));
    for (let copy = 0; copy < copies; copy++) {
      const suffix = copy === 0 ? '' : `-x${copy}`;
      for (const { fullUrl, resource } of entries) {
        resources.push(rewriteReferences({ ...resource, id: `${uuidOf(fullUrl)}${suffix}` }, types, suffix) as Resource);
      }
    }
  }
  return resources;
}

function uuidOf(fullUrl: string): string {
  return fullUrl.replace(/^urn:uuid:/, '');
}

/** Replaces `urn:uuid:X` strings anywhere in the tree by `Type/X<suffix>`. */
function rewriteReferences(value: unknown, types: ReadonlyMap<string, string>, suffix: string): unknown {
  if (typeof value === 'string') {
    const type = types.get(value);
    return type ? `${type}/${uuidOf(value)}${suffix}` : value;
  }
  if (Array.isArray(value)) {
    return value.map((item) => rewriteReferences(item, types, suffix));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rewriteReferences(item, types, suffix)]));
  }
  return value;
}
