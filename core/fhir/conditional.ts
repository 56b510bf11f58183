/**
 * Conditional interactions (R4 http.html#ccreate, #cond-update, #cdelete) and conditional
 * references (http.html#trules). The criteria are a search run by the search engine, always
 * with strict handling: an ignored parameter would silently widen the match, and a widened
 * conditional delete or update touches resources the client never meant. Single requests and
 * Bundle entries share everything here. The search is the table engine's (`context.searchEngine`):
 * strongly consistent reads of the candidates and of the recent changes the GSIs may still lack
 * (docs/consistency.md), so a conditional create sees every create acknowledged before it.
 *
 * Between the search and the write another request may create a matching resource: R4 accepts
 * that conditional interactions are not serialized, and so does this server.
 */
import type { Resource } from '@medplum/fhirtypes';
import { parseQueryString } from './request.js';
import { FhirError } from '../errors.js';
import { matchesCriterion } from '../search/match.js';
import type { Criterion, SearchQuery } from '../search/types.js';
import type { ResourceVersion, WriteResult } from '../storage/repository.js';
import { isResourceType } from '../r4/definitions.js';
import {
  assertResourceType,
  createResource,
  deleteResource,
  type FhirContext,
  patchResource,
  readResource,
  requireResourceBody,
  searchResources,
  updateResource,
} from './interactions.js';

/**
 * Parameters that shape a result instead of selecting resources. In criteria they are meaningless
 * and dangerous: `_count=1` would hide the second match that must make a conditional update 412.
 */
const RESULT_PARAMETERS = new Set(['_sort', '_count', '_total', '_summary', '_elements', '_cursor', '_type', '_include', '_revinclude', '_contained', '_containedType']);
/** About the response format (a single request's URL may carry them): not criteria. */
const FORMAT_PARAMETERS = new Set(['_format', '_pretty']);

/** Enough matches to tell none, one and several apart. */
const MATCH_LIMIT = 2;

/** Search criteria selecting the target of a conditional interaction or reference. */
export interface Criteria {
  readonly resourceType: string;
  readonly parameters: Readonly<Record<string, string[]>>;
  /** `Type?query` as the client wrote it, for messages. */
  readonly text: string;
  /** Where the client wrote them (a header, a Bundle element): errors of their search point there. */
  readonly expression?: string;
}

/** Criteria on `resourceType` from query parameters; 400 when none select anything or some shape results. */
export function criteriaOf(resourceType: string | undefined, parameters: Record<string, string[]>, expression?: string): Criteria {
  const type = assertResourceType(resourceType);
  const selecting = Object.entries(parameters).filter(([name, values]) => !FORMAT_PARAMETERS.has(name) && values.some((value) => value !== ''));
  for (const [name] of selecting) {
    if (RESULT_PARAMETERS.has(name.split(':')[0])) {
      throw FhirError.badRequest(`"${name.slice(0, 64)}" shapes search results and cannot be part of conditional criteria`, expression);
    }
  }
  if (selecting.length === 0) {
    // Without criteria a conditional update or delete would select every resource of the type.
    throw FhirError.badRequest(`A conditional interaction on ${type} needs search criteria, e.g. ${type}?identifier=system|value`, expression);
  }
  const text = selecting.flatMap(([name, values]) => values.map((value) => `${name}=${value}`)).join('&');
  return { resourceType: type, parameters: Object.fromEntries(selecting), text: `${type}?${text}`, expression };
}

/** `Patient?identifier=sys|val` (a conditional URL in a Bundle or a reference) → criteria. */
export function parseConditionalUrl(url: string, expression?: string): Criteria {
  const separator = url.indexOf('?');
  const resourceType = separator < 0 ? url : url.slice(0, separator);
  if (!isResourceType(resourceType)) {
    throw FhirError.badRequest(`"${url.slice(0, 100)}" is not a conditional URL: expected [type]?[search parameters]`, expression);
  }
  return criteriaOf(resourceType, parseQueryString(separator < 0 ? '' : url.slice(separator + 1)), expression);
}

/** `If-None-Exist` / `request.ifNoneExist`: the query alone, or (as many clients send it) prefixed with `Type?`. */
export function ifNoneExistCriteria(resourceType: string | undefined, ifNoneExist: string, expression = 'If-None-Exist'): Criteria {
  const type = assertResourceType(resourceType);
  const query = ifNoneExist.startsWith(`${type}?`) ? ifNoneExist.slice(type.length + 1) : ifNoneExist.replace(/^\?/, '');
  return criteriaOf(type, parseQueryString(query), expression);
}

/** What a conditional search found: the parsed query (for in-process matching) and the matches. */
interface Matches {
  readonly query: SearchQuery;
  readonly resources: readonly Resource[];
}

/**
 * The stored resources the criteria select, enough of them to tell none, one and several apart.
 * `ignoring` (`Type/id`) are left out: a transaction deletes or rewrites them, so their stored
 * content no longer counts.
 */
export async function findMatches(context: FhirContext, criteria: Criteria, ignoring: ReadonlySet<string> = new Set()): Promise<Matches> {
  const limit = MATCH_LIMIT + ignoring.size;
  const { query, result } = await searchResources(context, {
    resourceType: criteria.resourceType,
    parameters: criteria.parameters,
    strict: true,
    defaultCount: limit,
    maxCount: limit,
  }).catch((error: unknown) => {
    throw criteria.expression && error instanceof FhirError ? pointedAt(error, criteria.expression) : error;
  });
  if (query.criteria.length === 0) {
    // Values like `identifier=,` parse to no criterion at all: that would select everything.
    throw FhirError.badRequest(`${criteria.text} has no usable criterion; a conditional interaction needs at least one`, criteria.expression);
  }
  return { query, resources: result.matches.filter((resource) => !ignoring.has(`${resource.resourceType}/${resource.id}`)) };
}

function pointedAt(error: FhirError, expression: string): FhirError {
  return new FhirError(error.status, error.issues.map((found) => ({ ...found, expression: [expression] })));
}

/** The one match, or undefined for none; 412 for several, as R4 has every conditional interaction answer. */
export function singleMatch(criteria: Criteria, matches: readonly Resource[], interaction: string): Resource | undefined {
  if (matches.length > 1) {
    throw FhirError.preconditionFailed(`${interaction}: ${criteria.text} matches more than one resource; make the criteria more selective`);
  }
  return matches[0];
}

/**
 * Decides the query on a resource that is not stored yet (an entry of the same transaction);
 * undefined when it has parts only the engine can decide (chains, `_has`, a compartment).
 */
export function matchesInProcess(query: SearchQuery, resource: Resource): boolean | undefined {
  const plain = query.criteria.filter((criterion): criterion is Criterion => 'param' in criterion && criterion.chain.length === 0);
  if (plain.length !== query.criteria.length || query.compartment) {
    return undefined;
  }
  return query.resourceTypes.includes(resource.resourceType) && plain.every((criterion) => matchesCriterion(resource, criterion));
}

/**
 * The id a conditional update writes (R4 http.html#cond-update): the match's (a body id must
 * agree), else the body's own id (update as create), else none: a create.
 */
export function conditionalUpdateId(criteria: Criteria, match: Resource | undefined, body: Resource, expression = `${criteria.resourceType}.id`): string | undefined {
  if (match && body.id !== undefined && body.id !== match.id) {
    throw FhirError.badRequest(`Resource id "${String(body.id).slice(0, 64)}" differs from ${match.resourceType}/${match.id}, which ${criteria.text} matches`, expression);
  }
  return match?.id ?? body.id;
}

/** A conditional reference → `Type/id` of its one match; 400 for none or several (the Bundle is wrong). */
export function referenceTarget(criteria: Criteria, matches: readonly Resource[], expression?: string): string {
  if (matches.length !== 1) {
    const found = matches.length === 0 ? 'no resource' : 'more than one resource';
    throw FhirError.badRequest(`The conditional reference ${criteria.text} matches ${found}; it must match exactly one`, expression);
  }
  return `${matches[0].resourceType}/${matches[0].id}`;
}

/** Create unless the criteria match: none creates (201), one is returned as it is (200), several are 412. */
export async function conditionalCreate(context: FhirContext, criteria: Criteria, body: unknown): Promise<{ version: ResourceVersion; created: boolean }> {
  requireResourceBody(body, criteria.resourceType);
  const existing = singleMatch(criteria, (await findMatches(context, criteria)).resources, 'Conditional create');
  if (existing) {
    return { version: await readResource(context, criteria.resourceType, existing.id), created: false };
  }
  return { version: await createResource(context, criteria.resourceType, body), created: true };
}

/** PUT [type]?criteria: updates the one match, or creates; several matches are 412. */
export async function conditionalUpdate(context: FhirContext, criteria: Criteria, body: unknown, ifMatch: number | undefined): Promise<{ version: ResourceVersion; created: boolean }> {
  const resource = requireResourceBody(body, criteria.resourceType);
  const match = singleMatch(criteria, (await findMatches(context, criteria)).resources, 'Conditional update');
  const id = conditionalUpdateId(criteria, match, resource);
  if (id === undefined) {
    if (ifMatch !== undefined) {
      throw FhirError.preconditionFailed(`If-Match expects version ${ifMatch} but nothing matches ${criteria.text}`);
    }
    return { version: await createResource(context, criteria.resourceType, resource), created: true };
  }
  return updateResource(context, criteria.resourceType, id, { ...resource, id }, ifMatch);
}

/**
 * DELETE [type]?criteria: deletes the one match; several are 412. None is success with nothing
 * written (undefined): R4 makes it an ordinary delete, and deleting nothing is not an error there.
 */
export async function conditionalDelete(context: FhirContext, criteria: Criteria, ifMatch: number | undefined): Promise<WriteResult | undefined> {
  const match = singleMatch(criteria, (await findMatches(context, criteria)).resources, 'Conditional delete');
  return match ? deleteResource(context, criteria.resourceType, match.id, ifMatch) : undefined;
}

/** PATCH [type]?criteria (Bundle entries): the one match is patched; none is 404, several 412. */
export async function conditionalPatch(context: FhirContext, criteria: Criteria, operations: unknown, ifMatch: number | undefined): Promise<ResourceVersion> {
  const match = requireMatch(criteria, (await findMatches(context, criteria)).resources, 'Conditional patch');
  return patchResource(context, criteria.resourceType, match.id, operations, ifMatch);
}

/** The one match of an interaction that needs a target: none is 404, several 412. */
export function requireMatch(criteria: Criteria, matches: readonly Resource[], interaction: string): Resource {
  const match = singleMatch(criteria, matches, interaction);
  if (!match) {
    throw FhirError.notFound(`${interaction}: nothing matches ${criteria.text}`);
  }
  return match;
}
