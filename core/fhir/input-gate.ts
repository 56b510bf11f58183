/**
 * The input gate: every request body passes it before any other logic walks it, so that no
 * input, however hostile, reaches a recursion or a user-keyed object lookup unchecked.
 *
 * Limits and rules (each refusal is a 400 whose issue names the element at fault):
 * - JSON nesting: at most `MAX_JSON_DEPTH` (100) nested arrays and objects. The deepest R4
 *   official example nests 22; the limit keeps every recursive walker far from the stack's end.
 * - Strings and keys are well-formed UTF-16: no lone surrogates (JSON's `\ud800` escapes can
 *   encode them; R4 strings are Unicode characters).
 * - A resource body follows the JSON representation rules of R4 json.html, read off the
 *   StructureDefinitions: no unknown element (own properties only, so `constructor` or
 *   `__proto__` are unknown like any other name), no `null` (except to align a repeating
 *   primitive with its `_x` array), no empty object, array or string, an array exactly where the
 *   element repeats, a JSON primitive where the type is primitive and an object where it is not,
 *   and `_x` primitive extensions shaped and aligned like their values.
 * - Contained resources (R4 references.html#contained, dom-2 … dom-5): each has an id, unique
 *   in its container, is referred to from the container (or refers to it, `#`), contains no
 *   resources itself, and has no meta.versionId, meta.lastUpdated or security labels.
 *
 * The walks are iterative. Expressions are FHIRPath as the validator writes them
 * (`Patient.name[0].given[1]`), with type selection for choice elements
 * (`Observation.value.ofType(boolean)`).
 */
import { isPrimitiveType, tryGetDataType } from '@medplum/core';
import type { InternalSchemaElement, InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError, issue } from '../errors.js';
import { isResourceType, loadResourceDefinitions } from '../r4/definitions.js';

/** Deepest nesting of JSON arrays and objects accepted in any request body. */
export const MAX_JSON_DEPTH = 100;

/** A resource body with more problems than this is reported by its first ones. */
const MAX_ISSUES = 50;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A node met on a walk; the path is built only when an issue needs it. */
interface Visit {
  readonly value: unknown;
  readonly parent?: Visit;
  /** The property name or array index under the parent. */
  readonly key?: string | number;
  readonly depth: number;
}

/**
 * Depth and lone surrogates, for any JSON body (a Bundle, a JSON Patch document): throws a 400
 * naming the first offending place, `root` being the body's own name.
 */
export function assertWellFormedJson(value: unknown, root: string): void {
  const found = wellFormednessIssue(value, root);
  if (found) {
    throw FhirError.invalidResource([found]);
  }
}

function wellFormednessIssue(body: unknown, root: string): OperationOutcomeIssue | undefined {
  const stack: Visit[] = [{ value: body, depth: 0 }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const { value, depth } = visit;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) {
        return issue('invalid', 'A string contains a lone UTF-16 surrogate, which is not a Unicode character', jsonPath(root, visit));
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) {
      continue;
    }
    if (depth >= MAX_JSON_DEPTH) {
      return issue('too-costly', `JSON nested deeper than ${MAX_JSON_DEPTH} arrays and objects is not accepted`, jsonPath(root, visit));
    }
    const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
    for (const [key, child] of entries) {
      if (typeof key === 'string' && LONE_SURROGATE.test(key)) {
        return issue('invalid', 'A property name contains a lone UTF-16 surrogate, which is not a Unicode character', jsonPath(root, visit));
      }
      stack.push({ value: child, parent: visit, key, depth: depth + 1 });
    }
  }
  return undefined;
}

/** `root.a[0].b` for a visit of the generic walk. */
function jsonPath(root: string, visit: Visit): string {
  const parts: string[] = [];
  for (let at: Visit | undefined = visit; at?.parent; at = at.parent) {
    parts.push(typeof at.key === 'number' ? `[${at.key}]` : `.${at.key}`);
  }
  return root + parts.reverse().join('');
}

// ---- The JSON representation of resources (R4 json.html) ----

/** How one JSON property of a type maps onto its element. */
interface PropertyInfo {
  /** The name in a FHIRPath expression: `gender`, or `value.ofType(boolean)` for `valueBoolean`. */
  readonly name: string;
  readonly element: InternalSchemaElement;
  /** The type code: `boolean`, `HumanName`, `PatientContact`, `Resource`… */
  readonly type: string;
}

const CONTAINED_PATH = /\.contained\[\d+\]$/;

const propertiesBySchema = new WeakMap<InternalTypeSchema, ReadonlyMap<string, PropertyInfo>>();

/** The JSON properties a type allows, choice elements expanded (`value[x]` → `valueBoolean`, …). */
function propertiesOf(schema: InternalTypeSchema): ReadonlyMap<string, PropertyInfo> {
  let properties = propertiesBySchema.get(schema);
  if (!properties) {
    const map = new Map<string, PropertyInfo>();
    for (const [name, element] of Object.entries(schema.elements)) {
      if (name.endsWith('[x]')) {
        const base = name.slice(0, -3);
        for (const { code } of element.type) {
          map.set(base + code[0].toUpperCase() + code.slice(1), { name: `${base}.ofType(${code})`, element, type: code });
        }
      } else if (element.type.length > 0) {
        map.set(name, { name, element, type: element.type[0].code });
      }
    }
    properties = map;
    propertiesBySchema.set(schema, properties);
  }
  return properties;
}

type Kind = 'primitive' | 'resource' | 'complex';

function kindOf(type: string): Kind {
  if (type === 'Resource') {
    return 'resource';
  }
  return isPrimitiveType(type) ? 'primitive' : 'complex';
}

/** An object to check against a type; `schema` undefined for a resource whose type is read from it. */
interface Pending {
  readonly value: Record<string, unknown>;
  readonly path: string;
  readonly schema?: InternalTypeSchema;
}

/**
 * The issues of a resource body under the gate's rules; none means it may go on to the
 * StructureDefinition validation. Checks well-formedness first: a body that fails it is not walked.
 */
export function resourceInputIssues(resource: unknown): OperationOutcomeIssue[] {
  if (!isJsonObject(resource)) {
    return [issue('invalid', 'A resource must be a JSON object')];
  }
  const malformed = wellFormednessIssue(resource, typeof resource.resourceType === 'string' ? resource.resourceType.slice(0, 64) : 'Resource');
  if (malformed) {
    return [malformed];
  }
  const issues: OperationOutcomeIssue[] = [];
  const root = resourceSchema(resource, undefined, issues);
  if (!root) {
    return issues;
  }
  const stack: Pending[] = [{ value: resource, path: root.name, schema: root }];
  for (let pending = stack.pop(); pending && issues.length < MAX_ISSUES; pending = stack.pop()) {
    const schema = pending.schema ?? resourceSchema(pending.value, pending.path, issues);
    if (schema) {
      checkObject(pending.value, pending.path, schema, issues, stack);
    }
  }
  return issues.slice(0, MAX_ISSUES);
}

/** The schema of a resource by its `resourceType`, its definitions loaded; undefined (with an issue) when it has none. */
function resourceSchema(resource: Record<string, unknown>, path: string | undefined, issues: OperationOutcomeIssue[]): InternalTypeSchema | undefined {
  const { resourceType } = resource;
  if (typeof resourceType !== 'string') {
    issues.push(issue('required', 'A resource must have a string resourceType', path));
    return undefined;
  }
  if (!isResourceType(resourceType)) {
    issues.push(issue('not-supported', `Unknown resource type "${resourceType.slice(0, 64)}"`, path));
    return undefined;
  }
  loadResourceDefinitions(resourceType);
  return tryGetDataType(resourceType);
}

function checkObject(value: Record<string, unknown>, path: string, schema: InternalTypeSchema, issues: OperationOutcomeIssue[], stack: Pending[]): void {
  const properties = propertiesOf(schema);
  const isResource = value.resourceType !== undefined && schema.name === value.resourceType;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'resourceType' && isResource) {
      continue;
    }
    if (key.startsWith('_') && key.length > 1) {
      const property = properties.get(key.slice(1));
      if (property && kindOf(property.type) === 'primitive') {
        checkPrimitiveExtension(child, value[key.slice(1)], `${path}.${property.name}`, property, issues, stack);
        continue;
      }
    }
    const property = properties.get(key);
    if (!property) {
      issues.push(issue('structure', `Unknown element "${key.slice(0, 64)}": R4 defines no such element here`, `${path}.${key.slice(0, 64)}`));
      continue;
    }
    checkProperty(child, value[`_${key}`], `${path}.${property.name}`, property, issues, stack);
  }
  // A contained resource's own `contained` is a dom-2 issue of its container, not checked again here.
  if (isResource && Array.isArray(value.contained) && !CONTAINED_PATH.test(path)) {
    issues.push(...containedIssues(value, path));
  }
}

/** A property's value: an array exactly when the element repeats, each item of the element's JSON kind. */
function checkProperty(value: unknown, extensions: unknown, path: string, property: PropertyInfo, issues: OperationOutcomeIssue[], stack: Pending[]): void {
  if (!property.element.isArray) {
    if (Array.isArray(value)) {
      issues.push(issue('structure', 'An array where the element takes a single value', path));
    } else {
      checkItem(value, path, property.type, issues, stack);
    }
    return;
  }
  if (!Array.isArray(value)) {
    issues.push(issue('structure', 'A single value where the element repeats: R4 JSON represents it as an array', path));
    return;
  }
  if (value.length === 0) {
    issues.push(issue('structure', 'An empty array: R4 JSON leaves out an element that has no values', path));
    return;
  }
  value.forEach((item, index) => {
    const at = `${path}[${index}]`;
    // json.html: a null holds the place of a value that has only extensions, in `_x` at the same index.
    if (item === null && kindOf(property.type) === 'primitive' && isJsonObject((extensions as unknown[] | undefined)?.[index])) {
      return;
    }
    checkItem(item, at, property.type, issues, stack);
  });
}

function checkItem(value: unknown, path: string, type: string, issues: OperationOutcomeIssue[], stack: Pending[]): void {
  if (value === null) {
    issues.push(issue('structure', 'A null value: R4 JSON leaves out an element that has no value', path));
    return;
  }
  const kind = kindOf(type);
  if (kind === 'primitive') {
    if (typeof value === 'object') {
      issues.push(issue('structure', `${Array.isArray(value) ? 'An array' : 'An object'} where the ${type} element takes a JSON primitive value`, path));
    } else if (value === '') {
      issues.push(issue('structure', 'An empty string: R4 JSON leaves out an element that has no value', path));
    }
    return;
  }
  if (!isJsonObject(value)) {
    issues.push(issue('structure', `${Array.isArray(value) ? 'An array' : `A ${typeof value}`} where the ${type} element takes a JSON object`, path));
    return;
  }
  if (Object.keys(value).length === 0) {
    issues.push(issue('structure', 'An empty object: R4 JSON leaves out an element that has no content', path));
    return;
  }
  if (kind === 'resource') {
    stack.push({ value, path });
    return;
  }
  const schema = tryGetDataType(type);
  if (schema) {
    stack.push({ value, path, schema });
  }
}

/**
 * `_x` (json.html#primitive): an object with the id and extensions of the primitive `x`; for a
 * repeating `x`, an array aligned with x's, nulls filling the places without extensions.
 */
function checkPrimitiveExtension(extensions: unknown, values: unknown, path: string, property: PropertyInfo, issues: OperationOutcomeIssue[], stack: Pending[]): void {
  const elementSchema = tryGetDataType('Element');
  if (!property.element.isArray) {
    if (!isJsonObject(extensions) || Object.keys(extensions).length === 0) {
      issues.push(issue('structure', `_${lastName(path)} must be a JSON object holding the id and extensions of ${lastName(path)}`, path));
    } else if (elementSchema) {
      stack.push({ value: extensions, path, schema: elementSchema });
    }
    return;
  }
  if (!Array.isArray(extensions) || extensions.length === 0) {
    issues.push(issue('structure', `_${lastName(path)} must be a non-empty array, aligned with the values of ${lastName(path)}`, path));
    return;
  }
  if (values !== undefined && (!Array.isArray(values) || values.length !== extensions.length)) {
    issues.push(issue('structure', `_${lastName(path)} has ${extensions.length} items but ${lastName(path)} has ${Array.isArray(values) ? values.length : 'no array of'} values: they must align one to one`, path));
    return;
  }
  extensions.forEach((item, index) => {
    const at = `${path}[${index}]`;
    if (item === null) {
      // A null in both arrays is reported at the value; with no value array, every place needs extensions.
      if (values === undefined) {
        issues.push(issue('structure', 'A null value: R4 JSON leaves out an element that has no value', at));
      }
    } else if (!isJsonObject(item) || Object.keys(item).length === 0) {
      issues.push(issue('structure', `_${lastName(path)}[${index}] must be null or a JSON object holding an id and extensions`, at));
    } else if (elementSchema) {
      stack.push({ value: item, path: at, schema: elementSchema });
    }
  });
}

/** `given` of `Patient.name[0].given`. */
function lastName(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

// ---- Contained resources ----

/** dom-2 … dom-5 and id uniqueness, each issue at the contained resource's element at fault. */
function containedIssues(container: Record<string, unknown>, path: string): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const contained = (container.contained as unknown[]).filter(isJsonObject);
  const seen = new Map<string, number>();
  const referenced = stringsIn(container);
  contained.forEach((resource, index) => {
    const at = `${path}.contained[${index}]`;
    const { id, meta } = resource;
    if (typeof id !== 'string') {
      issues.push(issue('required', 'A contained resource must have an id, by which its container refers to it', at));
    } else if (seen.has(id)) {
      issues.push(issue('invariant', `Contained resources ${path}.contained[${seen.get(id)}] and [${index}] have the same id "${id.slice(0, 64)}"; ids are unique within a resource`, `${at}.id`));
    } else {
      seen.set(id, index);
      // dom-3: referred to from the container (`#id`), or referring to the container itself (`#`).
      if (!referenced.has(`#${id}`) && !stringsIn(resource).has('#')) {
        issues.push(issue('invariant', `dom-3: contained resource "${id.slice(0, 64)}" is not referenced from ${path} (as "#${id.slice(0, 64)}") and does not refer to it (as "#")`, at));
      }
    }
    if (resource.contained !== undefined) {
      issues.push(issue('invariant', 'dom-2: a contained resource cannot contain resources itself', `${at}.contained`));
    }
    if (isJsonObject(meta)) {
      for (const element of ['versionId', 'lastUpdated'] as const) {
        if (meta[element] !== undefined) {
          issues.push(issue('invariant', `dom-4: a contained resource has no meta.${element}; it is versioned with its container`, `${at}.meta.${element}`));
        }
      }
      if (meta.security !== undefined) {
        issues.push(issue('invariant', 'dom-5: a contained resource has no security labels; they belong on its container', `${at}.meta.security`));
      }
    }
  });
  return issues;
}

/** Every string anywhere in `value` (references, canonicals and uris among them). */
function stringsIn(value: unknown): Set<string> {
  const strings = new Set<string>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next === 'string') {
      strings.add(next);
    } else if (typeof next === 'object' && next !== null) {
      for (const child of Object.values(next)) {
        stack.push(child);
      }
    }
  }
  return strings;
}

// ---- Expressions of the validator's issues ----

const CHOICE_SEGMENT = /^([A-Za-z]+)\[x\]$/;

/**
 * The validator's expression with its choice elements as FHIRPath type selections:
 * `Observation.value[x]` → `Observation.value.ofType(boolean)`, the type read from the resource.
 * An expression that does not follow the resource is returned as it is.
 */
export function withTypeSelections(expression: string, resource: Record<string, unknown>): string {
  const segments = expression.split('.');
  let value: unknown = resource;
  let schema = tryGetDataType(String(resource.resourceType));
  const out = [segments[0]];
  for (const segment of segments.slice(1)) {
    const [, name, index] = /^(.*?)(?:\[(\d+)\])?$/.exec(segment) as RegExpExecArray;
    const choice = CHOICE_SEGMENT.exec(segment);
    const properties = schema ? propertiesOf(schema) : new Map<string, PropertyInfo>();
    const key = choice ? Object.keys(isJsonObject(value) ? value : {}).find((candidate) => properties.get(candidate)?.name.startsWith(`${choice[1]}.ofType(`)) : name;
    const property = key === undefined ? undefined : properties.get(key);
    if (!property || !isJsonObject(value)) {
      return [...out, ...segments.slice(out.length)].join('.');
    }
    out.push(choice ? property.name : segment);
    value = index === undefined || choice ? value[key as string] : (value[key as string] as unknown[] | undefined)?.[Number(index)];
    schema = kindOf(property.type) === 'resource' && isJsonObject(value) ? tryGetDataType(String(value.resourceType)) : tryGetDataType(property.type);
  }
  return out.join('.');
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
