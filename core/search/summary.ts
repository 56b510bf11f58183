/**
 * `_summary` and `_elements` (R4 search.html#summary, #elements): which elements of a resource a
 * search returns. Subsetted resources carry the SUBSETTED tag, as R4 requires.
 */
import { getDataType } from '@medplum/core';
import type { Coding, Resource } from '@medplum/fhirtypes';
import { loadResourceDefinitions } from '../r4/definitions.js';

const SUBSETTED: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
/** Always returned: the resource would not be a resource without them. */
const ALWAYS = ['resourceType', 'id', 'meta'];

export type Subsetting = { readonly summary?: 'true' | 'text' | 'data' | 'count' | 'false'; readonly elements?: readonly string[] };

export function subset(resource: Resource, { summary, elements }: Subsetting): Resource {
  if (summary === 'true' || summary === 'text' || elements) {
    loadResourceDefinitions(resource.resourceType);
    const schema = getDataType(resource.resourceType);
    const mandatory = [...(schema.mandatoryProperties ?? [])];
    const kept =
      summary === 'true' ? [...(schema.summaryProperties ?? []), ...mandatory] : summary === 'text' ? ['text', ...mandatory] : [...(elements ?? []), ...mandatory];
    return tagged(pick(resource, [...ALWAYS, ...kept]));
  }
  if (summary === 'data') {
    const { text: _text, ...rest } = resource as Resource & { text?: unknown };
    return tagged(rest as Resource);
  }
  return resource;
}

/** Keeps the named elements; a choice element `value` keeps `valueQuantity`, `_x` follows `x`. */
function pick(resource: Resource, names: readonly string[]): Resource {
  const wanted = new Set(names);
  const keep = (key: string) => {
    const base = key.startsWith('_') ? key.slice(1) : key;
    return wanted.has(base) || [...wanted].some((name) => base.startsWith(name) && /^[A-Z]/.test(base.slice(name.length)));
  };
  return Object.fromEntries(Object.entries(resource).filter(([key]) => keep(key))) as Resource;
}

function tagged(resource: Resource): Resource {
  const tags = resource.meta?.tag ?? [];
  const alreadyTagged = tags.some((tag) => tag.system === SUBSETTED.system && tag.code === SUBSETTED.code);
  return { ...resource, meta: { ...resource.meta, tag: alreadyTagged ? tags : [...tags, SUBSETTED] } };
}
