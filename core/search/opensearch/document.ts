/**
 * The OpenSearch document of one current resource: the resource itself (served from `_source`,
 * so a search needs no DynamoDB read) and, for every search parameter of its type, exactly the
 * values `extractValues` gives, one nested entry per value. The query side (`criteria.ts`) compares
 * these entries field by field as `match.ts` compares the IndexValues, so both engines decide
 * on the same normalized values. A resource beyond what OpenSearch takes in one document is
 * indexed in a degraded form that says what is missing (document-limits.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { TenantId } from '../../tenant.js';
import { extractValues } from '../../r4/extract.js';
import { referenceKey } from '../../r4/extract.js';
import { searchParameters } from '../../r4/search-parameters.js';
import { finite } from '../sort.js';
import type { IndexValue, SearchParameterDefinition } from '../../r4/search-types.js';

/** One IndexValue as flat fields; which fields are set depends on `type` (see mapping.ts). */
export interface ValueFields {
  readonly type: IndexValue['type'];
  /** string: the value as written (`:exact`) and normalized (default, `:contains`, sort). */
  readonly exact?: string;
  readonly normalized?: string;
  /** token and quantity: system and code; token: display text; quantity: human unit. */
  readonly system?: string;
  readonly code?: string;
  readonly text?: string;
  readonly unit?: string;
  /** token: `JSON.stringify([system, code])` of each Identifier.type coding (`:of-type`). */
  readonly identifierTypes?: readonly string[];
  /** reference: target type and id, and `referenceKey` (chains, `_include`, sort). */
  readonly refType?: string;
  readonly refId?: string;
  readonly key?: string;
  /** uri: the value; reference: the absolute URL or canonical (version split off). */
  readonly uri?: string;
  readonly version?: string;
  /** reference: Reference.identifier (`:identifier`). */
  readonly idSystem?: string;
  readonly idValue?: string;
  /** date: inclusive epoch-ms bounds, open ends at ±OPEN_END (JSON has no infinities; sort.ts). */
  readonly start?: number;
  readonly end?: number;
  /** number and quantity: the value. */
  readonly num?: number;
}

/** One value of one parameter; a composite value's components as `parts`, each tagged with its component index. */
export interface ValueDocument extends ValueFields {
  readonly param: string;
  readonly parts?: readonly (ValueFields & { readonly component: number })[];
}

export interface SearchDocument {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
  /** `Type/id`: the last sort key of every search, and what chains and `_has` filter on. */
  readonly ref: string;
  /** `meta.lastUpdated` in epoch ms, null when the resource has none. */
  readonly lastUpdated: number | null;
  readonly versionId?: string;
  readonly values: readonly ValueDocument[];
  /** Not indexed (`enabled: false`): what a search returns. */
  readonly resource: Resource;
  /** Only on a document indexed in a degraded form: what searches may miss, and why. */
  readonly indexIssues?: readonly IndexIssue[];
}

export interface IndexIssue {
  /**
   * `values-capped`: the parameter lost its last values (too many nested objects);
   * `value-shortened`: over-long values kept as their beginning; `refused`: OpenSearch refused
   * the document, indexed as its identity only; `not-extracted`: the values could not be
   * computed, ditto.
   */
  readonly kind: 'values-capped' | 'value-shortened' | 'refused' | 'not-extracted';
  readonly param?: string;
  readonly detail: string;
}

/** What an identity document keeps: enough to find the resource by type, id and age. */
const IDENTITY_PARAMS = ['_id', '_lastUpdated'];

/** The only place the OpenSearch `_id` is built: one document per tenant and resource. */
export function documentId(tenant: TenantId, resourceType: string, id: string): string {
  return `${tenant}/${resourceType}/${id}`;
}

/**
 * The full document of a current resource, before OpenSearch's limits (`withinLimits`). Throws
 * when a parameter's expression cannot be evaluated on it.
 */
export function searchDocument(tenant: TenantId, resource: Resource): SearchDocument {
  return documentOf(tenant, resource, [...searchParameters(resource.resourceType).values()]);
}

/** The degraded document of a resource whose full document cannot be indexed: its identity, and why. */
export function identityDocument(tenant: TenantId, resource: Resource, issue: IndexIssue): SearchDocument {
  const parameters = searchParameters(resource.resourceType);
  const identity = IDENTITY_PARAMS.flatMap((code) => parameters.get(code) ?? []);
  return { ...documentOf(tenant, resource, identity), indexIssues: [issue] };
}

function documentOf(tenant: TenantId, resource: Resource, params: readonly SearchParameterDefinition[]): SearchDocument {
  const { resourceType, id } = resource;
  if (!id) {
    throw new Error(`A ${resourceType} without an id cannot be indexed`);
  }
  const values: ValueDocument[] = [];
  for (const param of params) {
    for (const value of extractValues(resource, param)) {
      values.push({ param: param.code, ...valueFields(value), ...(value.type === 'composite' ? { parts: compositeParts(value) } : {}) });
    }
  }
  const lastUpdated = resource.meta?.lastUpdated ? Date.parse(resource.meta.lastUpdated) : null;
  return {
    tenant,
    resourceType,
    id,
    ref: `${resourceType}/${id}`,
    lastUpdated,
    ...(resource.meta?.versionId ? { versionId: resource.meta.versionId } : {}),
    values,
    resource,
  };
}

function compositeParts(value: Extract<IndexValue, { type: 'composite' }>): (ValueFields & { component: number })[] {
  return value.components.flatMap((componentValues, component) => componentValues.map((part) => ({ component, ...valueFields(part) })));
}

function valueFields(value: IndexValue): ValueFields {
  switch (value.type) {
    case 'string':
      return { type: value.type, exact: value.value, normalized: value.normalized };
    case 'token':
      return defined({
        type: value.type,
        system: value.system,
        code: value.code,
        text: value.text,
        identifierTypes: value.identifierType?.flatMap(({ system, code }) => (system !== undefined && code !== undefined ? [identifierTypeKey(system, code)] : [])),
      });
    case 'reference':
      return defined({
        type: value.type,
        refType: value.resourceType,
        refId: value.id,
        key: referenceKey(value),
        uri: value.url,
        version: value.version,
        idSystem: value.identifier?.system,
        idValue: value.identifier?.value,
      });
    case 'date':
      return { type: value.type, start: finite(value.start), end: finite(value.end) };
    case 'number':
      return { type: value.type, num: value.value };
    case 'quantity':
      return defined({ type: value.type, num: value.value, system: value.system, code: value.code, unit: value.unit });
    case 'uri':
      return { type: value.type, uri: value.value };
    case 'composite':
      return { type: value.type };
  }
}

/** `:of-type`'s coding as one keyword; JSON keeps a `|` inside a system from being ambiguous. */
export function identifierTypeKey(system: string, code: string): string {
  return JSON.stringify([system, code]);
}

function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, field]) => field !== undefined && !(Array.isArray(field) && field.length === 0))) as T;
}
