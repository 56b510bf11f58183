/**
 * Finding and rewriting links inside resources, for Bundles (R4 bundle.html#references,
 * http.html#trules). Walks plain JSON, so it reaches every depth: nested backbone elements,
 * extensions (`valueReference`), contained resources. The walks are iterative: a Bundle is
 * walked before its entries are validated, so its depth must not matter here.
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
  // Iterative, children pushed last-first so that references come out in document order.
  const stack: [unknown, string][] = [[resource, root]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [value, path] = next;
    const children: [unknown, string][] = [];
    if (Array.isArray(value)) {
      value.forEach((item, index) => children.push([item, `${path}[${index}]`]));
    } else if (isObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'reference' && typeof child === 'string') {
          found.push({ path: `${path}.reference`, reference: child });
        } else {
          children.push([child, `${path}.${key}`]);
        }
      }
    }
    stack.push(...children.reverse());
  }
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

/**
 * A copy of `value` with each string passed through `replace` along with its property name.
 * Iterative, so no nesting overflows the stack: each container is copied when met and its
 * items are filled in as they are reached. Keys are defined, never assigned, so that a
 * `__proto__` key stays a key.
 */
function mapStrings(value: unknown, replace: (key: string, value: string) => string): unknown {
  const result: Record<string, unknown> = Object.create(null);
  const stack: [unknown, string, Record<string, unknown> | unknown[], string | number][] = [[value, '', result, 'value']];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [item, key, target, slot] = next;
    let copy: unknown = item;
    if (typeof item === 'string') {
      copy = replace(key, item);
    } else if (Array.isArray(item)) {
      const array = [...item];
      array.forEach((child, index) => stack.push([child, key, array, index]));
      copy = array;
    } else if (isObject(item)) {
      const object: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(item)) {
        defineOwn(object, name, child);
        stack.push([child, name, object, name]);
      }
      copy = object;
    }
    if (Array.isArray(target)) {
      target[slot as number] = copy;
    } else {
      defineOwn(target, slot as string, copy);
    }
  }
  return result.value;
}

function defineOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
