/**
 * Finding and rewriting links inside resources, for Bundles (R4 bundle.html#references,
 * http.html#trules). Walks plain JSON, so it reaches every depth: nested backbone elements,
 * extensions (`valueReference`), contained resources.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isResourceType } from './definitions.js';

/** A `Reference.reference` value and where it is, as a FHIRPath-style path. */
export interface FoundReference {
  readonly path: string;
  readonly reference: string;
}

const TEMPORARY_PREFIXES = ['urn:uuid:', 'urn:oid:'];
/** `Type?params`: R4's conditional reference (only the type-relative form). */
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?/;
/** Narrative links R4 asks servers to rewrite too. */
const NARRATIVE_LINK = /\b(href|src)="([^"]*)"/g;

/** A reference to a Bundle entry's temporary id, which only that Bundle can resolve. */
export function isTemporaryReference(reference: string): boolean {
  return TEMPORARY_PREFIXES.some((prefix) => reference.startsWith(prefix));
}

export function isConditionalReference(reference: string): boolean {
  const match = CONDITIONAL_REFERENCE.exec(reference);
  return match !== null && isResourceType(match[1]);
}

/**
 * Every `Reference.reference` string in the resource (a string under the key `reference`), its
 * path starting at `root` (e.g. `Bundle.entry[3].resource`).
 */
export function referencesIn(resource: Resource, root: string): FoundReference[] {
  const found: FoundReference[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${path}[${index}]`));
    } else if (isObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'reference' && typeof child === 'string') {
          found.push({ path: `${path}.reference`, reference: child });
        } else {
          walk(child, `${path}.${key}`);
        }
      }
    }
  };
  walk(resource, root);
  return found;
}

/**
 * Replaces each `Reference.reference` found in `targets` by its target. Conditional references
 * are resolved this way: only a Reference can hold one.
 */
export function replaceReferences(resource: Resource, targets: ReadonlyMap<string, string>): Resource {
  return mapStrings(resource, (key, value) => (key === 'reference' ? (targets.get(value) ?? value) : value)) as Resource;
}

/**
 * Replaces every string equal to a Bundle entry's fullUrl by the entry's `Type/id`, and the
 * same URLs in narrative `href`/`src` attributes. R4's transaction rules ask for this in
 * references and in uri/url/oid/uuid elements alike; an exact match of a Bundle's own fullUrl
 * is taken to be such a link wherever it appears, since plain JSON has no element types.
 */
export function replaceFullUrls(resource: Resource, targets: ReadonlyMap<string, string>): Resource {
  if (targets.size === 0) {
    return resource;
  }
  return mapStrings(resource, (key, value) => {
    const target = targets.get(value);
    if (target !== undefined) {
      return target;
    }
    return key === 'div' ? value.replace(NARRATIVE_LINK, (link, attribute: string, url: string) => (targets.has(url) ? `${attribute}="${targets.get(url)}"` : link)) : value;
  }) as Resource;
}

/** A copy of `value` with each string passed through `replace` along with its property name. */
function mapStrings(value: unknown, replace: (key: string, value: string) => string, key = ''): unknown {
  if (typeof value === 'string') {
    return replace(key, value);
  }
  if (Array.isArray(value)) {
    return value.map((item) => mapStrings(item, replace, key));
  }
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, mapStrings(child, replace, name)]));
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
