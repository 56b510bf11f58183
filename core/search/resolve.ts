/**
 * What both search engines do the same way around their own matching: resolving chains, `_has`
 * and the compartment to the `Type/id` sets a criterion may point at (inner searches first, from
 * the inside out), and collecting `_include`/`_revinclude` (with `:iterate`). An engine supplies
 * exact matching and reads through a `MatchSource`; everything here is engine-agnostic, so the
 * two engines cannot drift apart on these semantics.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { TenantId } from '../tenant.js';
import { referencedKeys } from '../r4/extract.js';
import type { ResolvedCriterion } from './match.js';
import { patientCompartmentParameters, searchParameter, searchParameters } from '../r4/search-parameters.js';
import type { Criterion, HasCriterion, IncludeRule, SearchCriterion, SearchQuery } from './types.js';
import type { SearchParameterDefinition } from '../r4/search-types.js';

/** `_include:iterate` rounds; R4 lets servers bound iteration. */
const MAX_INCLUDE_ROUNDS = 5;

/** What an engine gives the resolver. */
export interface MatchSource {
  /** Every resource of `resourceType` satisfying all `criteria`. */
  findMatching(tenant: TenantId, resourceType: string, criteria: readonly ResolvedCriterion[]): Promise<Resource[]>;
  /** The current resources behind `references`, in their order; unknown and deleted ones are left out. */
  readCurrent(tenant: TenantId, references: readonly { resourceType: string; id: string }[]): Promise<Resource[]>;
}

/** The query's criteria for `resourceType`, with chains, `_has` and the compartment resolved to reference sets. */
export async function resolveCriteria(source: MatchSource, tenant: TenantId, resourceType: string, query: SearchQuery): Promise<ResolvedCriterion[]> {
  const resolved: ResolvedCriterion[] = [];
  for (const criterion of query.criteria) {
    resolved.push(await resolve(source, tenant, resourceType, criterion));
  }
  if (query.compartment) {
    const params = parameterDefinitions(resourceType, patientCompartmentParameters(resourceType));
    resolved.push({ kind: 'references', params, references: new Set([`Patient/${query.compartment.id}`]) });
  }
  return resolved;
}

/** A criterion on resources of `resourceType`; a Criterion of another type matches none of them. */
async function resolve(source: MatchSource, tenant: TenantId, resourceType: string, criterion: SearchCriterion): Promise<ResolvedCriterion> {
  if ('inner' in criterion) {
    return { kind: 'self', references: await hasReferences(source, tenant, criterion) };
  }
  if ('anyOf' in criterion) {
    const alternatives = criterion.anyOf.filter((alternative) => alternative.resourceType === resourceType);
    return { kind: 'any', of: await Promise.all(alternatives.map((alternative) => resolve(source, tenant, resourceType, alternative))) };
  }
  if (criterion.resourceType !== resourceType) {
    return { kind: 'any', of: [] };
  }
  if (criterion.chain.length === 0) {
    return { kind: 'criterion', criterion };
  }
  return { kind: 'references', params: parameterDefinitions(resourceType, [criterion.chain[0].param]), references: await chainReferences(source, tenant, criterion) };
}

/**
 * `a.b.c=x` from the inside out: the resources at the end of the chain matching `c=x`, then
 * at each link back the resources pointing at the previous set; returns the `Type/id` the
 * first link must point at.
 */
async function chainReferences(source: MatchSource, tenant: TenantId, criterion: Criterion): Promise<Set<string>> {
  const { chain } = criterion;
  const last = chain[chain.length - 1];
  let references = keysOf(await source.findMatching(tenant, last.targetType, [{ kind: 'criterion', criterion: { ...criterion, chain: [] } }]));
  for (let index = chain.length - 1; index >= 1; index--) {
    const link = chain[index];
    const sourceType = chain[index - 1].targetType;
    const params = parameterDefinitions(sourceType, [link.param]);
    references = keysOf(await source.findMatching(tenant, sourceType, [{ kind: 'references', params, references }]));
  }
  return references;
}

/** `_has:T:p:…`: the resources of type T matching the inner criterion, and what their `p` points at. */
async function hasReferences(source: MatchSource, tenant: TenantId, has: HasCriterion): Promise<Set<string>> {
  const inner = await resolve(source, tenant, has.resourceType, has.inner);
  const referencing = await source.findMatching(tenant, has.resourceType, [inner]);
  const [param] = parameterDefinitions(has.resourceType, [has.referenceParam]);
  return new Set(referencing.flatMap((resource) => referencedKeys(resource, param)));
}

/** The `_include`/`_revinclude` resources of a page, none of them also on the page, in the order found. */
export async function includedResources(source: MatchSource, tenant: TenantId, page: readonly Resource[], query: SearchQuery): Promise<Resource[]> {
  const seen = new Set(page.map(keyOf));
  const included: Resource[] = [];
  let frontier: readonly Resource[] = page;
  for (let round = 0; round < MAX_INCLUDE_ROUNDS && frontier.length > 0; round++) {
    const applies = (rule: IncludeRule) => round === 0 || rule.iterate;
    const found = [
      ...(await forwardIncludes(source, tenant, frontier, query.include.filter(applies))),
      ...(await reverseIncludes(source, tenant, frontier, query.revinclude.filter(applies))),
    ].filter((resource) => !seen.has(keyOf(resource)) && seen.add(keyOf(resource)));
    included.push(...found);
    frontier = found;
  }
  return included;
}

async function forwardIncludes(source: MatchSource, tenant: TenantId, from: readonly Resource[], rules: readonly IncludeRule[]): Promise<Resource[]> {
  const targets = new Set<string>();
  for (const rule of rules) {
    const params = ruleParameters(rule);
    for (const resource of from.filter((r) => r.resourceType === rule.sourceType)) {
      for (const key of params.flatMap((param) => referencedKeys(resource, param))) {
        if (!rule.targetType || key.startsWith(`${rule.targetType}/`)) {
          targets.add(key);
        }
      }
    }
  }
  const references = [...targets].flatMap((key) => {
    const [resourceType, id, extra] = key.split('/');
    return resourceType && id && extra === undefined ? [{ resourceType, id }] : [];
  });
  return references.length > 0 ? source.readCurrent(tenant, references) : [];
}

async function reverseIncludes(source: MatchSource, tenant: TenantId, to: readonly Resource[], rules: readonly IncludeRule[]): Promise<Resource[]> {
  const found: Resource[] = [];
  for (const rule of rules) {
    const references = new Set(to.filter((r) => !rule.targetType || r.resourceType === rule.targetType).map(keyOf));
    if (references.size > 0) {
      found.push(...(await source.findMatching(tenant, rule.sourceType, [{ kind: 'references', params: ruleParameters(rule), references }])));
    }
  }
  return found;
}

/** The definitions of `codes` on `resourceType`, unknown codes left out. */
export function parameterDefinitions(resourceType: string, codes: readonly string[]): SearchParameterDefinition[] {
  return codes.flatMap((code) => {
    const definition = searchParameter(resourceType, code);
    return definition ? [definition] : [];
  });
}

/** The reference parameters an include rule follows: the named one, or all of them for `*`. */
function ruleParameters(rule: IncludeRule): SearchParameterDefinition[] {
  if (rule.param) {
    return parameterDefinitions(rule.sourceType, [rule.param]);
  }
  return [...searchParameters(rule.sourceType).values()].filter((param) => param.type === 'reference');
}

export function keyOf(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}`;
}

function keysOf(resources: readonly Resource[]): Set<string> {
  return new Set(resources.map(keyOf));
}
