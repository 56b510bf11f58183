/**
 * Transaction Bundles (R4 http.html#transaction, #trules): all or nothing.
 *
 *  1. Targets, in R4's processing order (DELETE, POST, PUT/PATCH): conditional URLs are searched
 *     against stored data, without the resources earlier steps delete; creates get new ids.
 *  2. Identities: no resource written twice; each fullUrl → the `Type/id` its entry ends up as.
 *  3. State: each written resource's current state read once; If-Match checked; the content
 *     to store computed (body, or patch applied) with fullUrls replaced, and no
 *     `urn:uuid:`/`urn:oid:` reference left that names no entry.
 *  4. Conditional references resolved against stored data and this transaction's own content.
 *  5. Every resulting resource validated. Nothing is written before this point.
 *  6. One `commitAtomically`, conditioned on every state read in 3: a concurrent change to any
 *     of them fails the whole transaction (409), which leaves no trace.
 *  7. GET entries, read after the commit, so they see its result.
 *
 * Any failure before 6 answers the failing entry's OperationOutcome, pointed at `Bundle.entry[i]`.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import { NEW_RESOURCE_STATE, type ResourceKey, type ResourceVersion, type WriteMethod, type WriteState } from '../storage/repository.js';
import { atEntry, type BundleProcessing, type EntryRequest, entryPath, type GetEntry, responseEntry, versionOf, type WriteEntry } from './batch-entry.js';
import { bundleEntryOf, writeResponse } from './response.js';
import { mapLimited } from '../map-limited.js';
import { conditionalUpdateId, findMatches, matchesInProcess, parseConditionalUrl, referenceTarget, requireMatch, singleMatch } from './conditional.js';
import { newResourceId } from '../r4/ids.js';
import {
  assertIfMatch,
  assertWithinConfinement,
  describe,
  type FhirContext,
  parseSearchRequest,
  patchedResource,
  requireLive,
  requireResourceBody,
  resourceToCreate,
  resourceToUpdate,
} from './interactions.js';
import { isConditionalReference, isTemporaryReference, referencesIn, replaceFullUrls, replaceReferences } from '../r4/references.js';
import { assertValidResource } from './validation.js';

/** Searches and state reads in flight at once: enough to hide latency, few enough not to throttle. */
const READS_IN_FLIGHT = 16;


/** What an entry does once its conditions are resolved. */
type Target =
  | { readonly kind: 'write'; readonly entry: WriteEntry; readonly method: WriteMethod; readonly key: ResourceKey }
  /** A conditional create that found its resource: nothing is written. */
  | { readonly kind: 'existing'; readonly entry: WriteEntry; readonly resource: Resource }
  /** A conditional delete that found nothing. */
  | { readonly kind: 'none'; readonly entry: WriteEntry };

type WriteTarget = Extract<Target, { kind: 'write' }>;

/** A write with the state it is conditioned on and, unless it deletes, the content it stores. */
interface PlannedWrite {
  readonly target: WriteTarget;
  readonly state: WriteState;
  readonly content?: Resource;
  /** PUT: 201 when the resource did not exist (or was deleted), else 200. */
  readonly created: boolean;
}

export async function processTransaction(context: FhirContext, entries: readonly EntryRequest[], processing: BundleProcessing): Promise<Bundle> {
  for (const entry of entries) {
    if (entry.target.kind === 'other') {
      throw atEntry(FhirError.of(400, 'not-supported', `${entry.target.interaction} is not supported in a transaction; use a batch`), entry);
    }
  }
  // Every entry's scopes before anything is read; one confined entry confines the whole transaction.
  const confinedTo = entries.map((entry) => withEntrySync(entry, () => processing.authorizeEntry(entry.request))).find((patient) => patient !== undefined);
  context = confinedTo === undefined ? context : { ...context, confinedTo };
  const reads = entries.filter((entry): entry is GetEntry => entry.method === 'GET');
  checkSearches(reads, processing.searchLimits);
  const targets = await resolveTargets(context, entries.filter((entry): entry is WriteEntry => entry.method !== 'GET'));
  assertDistinctWrites(targets);
  const fullUrls = fullUrlTargets(targets);

  const writeTargets = targets.filter((target): target is WriteTarget => target.kind === 'write');
  // A POST gets a fresh UUID, so its state is known without a read; if a UUID ever collided,
  // the commit's condition would refuse it (409).
  const states = await mapLimited(writeTargets, READS_IN_FLIGHT, (target) =>
    target.method === 'POST' ? Promise.resolve(NEW_RESOURCE_STATE) : context.repository.readWriteState(target.key),
  );
  const planned = await resolveConditionalReferences(
    context,
    writeTargets.flatMap((target, i) => withEntrySync(target.entry, () => plan(target, states[i], fullUrls))),
  );
  for (const write of planned) {
    withEntrySync(write.target.entry, () => {
      if (write.content) {
        assertValidResource(write.content);
      }
      assertWithinConfinement(context, write.content);
      assertWithinConfinement(context, write.state.kind === 'present' ? write.state.current.resource : undefined);
    });
  }
  for (const target of targets) {
    if (target.kind === 'existing') {
      withEntrySync(target.entry, () => assertWithinConfinement(context, target.resource));
    }
  }

  const versions = await context.repository.commitAtomically(
    planned.map(({ target, state, content }) => ({ key: target.key, state, method: target.method, resource: content, author: context.principal })),
  );

  const responses = new Map<number, BundleEntry>();
  planned.forEach((write, i) => responses.set(write.target.entry.index, writeEntryOf(write, versions[i])));
  for (const target of targets) {
    if (target.kind === 'existing') {
      responses.set(target.entry.index, bundleEntryOf(writeResponse(target.entry.request, 200, versionOf(target.resource))));
    } else if (!responses.has(target.entry.index)) {
      // A conditional delete that found nothing, or a delete of a resource already deleted.
      responses.set(target.entry.index, bundleEntryOf(writeResponse(target.entry.request, 204, undefined)));
    }
  }
  // After the commit, so they see its result. The commit cannot be undone: a read that fails
  // (say the resource does not exist) answers its own error in its entry.
  const readResponses = await mapLimited(reads, READS_IN_FLIGHT, async (entry) => responseEntry(await processing.dispatch(entry.request), entry));
  reads.forEach((entry, i) => responses.set(entry.index, readResponses[i]));
  return { resourceType: 'Bundle', type: 'transaction-response', entry: entries.map((entry) => responses.get(entry.index) as BundleEntry) };
}

/** A malformed search fails the transaction before anything is written, not after. */
function checkSearches(reads: readonly GetEntry[], limits: BundleProcessing['searchLimits']): void {
  for (const entry of reads) {
    if (entry.target.kind === 'search') {
      const { request } = entry.target;
      withEntrySync(entry, () => parseSearchRequest({ ...request, strict: entry.request.prefer.handling === 'strict', ...limits }));
    }
  }
}

// ---- 1. targets ---------------------------------------------------------------------------

/** R4 http.html#trules: deletes, then creates, then updates and patches. */
const PROCESSING_ORDER: readonly WriteEntry['method'][][] = [['DELETE'], ['POST'], ['PUT', 'PATCH']];

async function resolveTargets(context: FhirContext, entries: readonly WriteEntry[]): Promise<Target[]> {
  const targets: Target[] = [];
  // Conditions of later steps do not see what earlier steps delete.
  const deleted = new Set<string>();
  for (const methods of PROCESSING_ORDER) {
    const step = entries.filter((entry) => methods.includes(entry.method));
    const resolved = await mapLimited(step, READS_IN_FLIGHT, (entry) => withEntry(entry, () => resolveTarget(context, entry, deleted)));
    for (const target of resolved) {
      if (target.kind === 'write' && target.method === 'DELETE') {
        deleted.add(describe(target.key));
      }
    }
    targets.push(...resolved);
  }
  return targets;
}

async function resolveTarget(context: FhirContext, entry: WriteEntry, deleted: ReadonlySet<string>): Promise<Target> {
  const write = (resourceType: string, id: string): Target => ({ kind: 'write', entry, method: entry.method, key: { tenant: context.tenant, resourceType, id } });
  if (entry.method === 'POST') {
    const existing = entry.ifNoneExist && singleMatch(entry.ifNoneExist, (await findMatches(context, entry.ifNoneExist, deleted)).resources, 'Conditional create');
    return existing ? { kind: 'existing', entry, resource: existing } : write(entry.target.resourceType, newResourceId());
  }
  if (entry.target.kind === 'instance') {
    return write(entry.target.resourceType, entry.target.id);
  }
  const { criteria } = entry.target;
  const matches = (await findMatches(context, criteria, deleted)).resources;
  switch (entry.method) {
    case 'DELETE': {
      const match = singleMatch(criteria, matches, 'Conditional delete');
      return match ? write(criteria.resourceType, match.id as string) : { kind: 'none', entry };
    }
    case 'PUT': {
      const body = requireResourceBody(entry.resource, criteria.resourceType);
      const match = singleMatch(criteria, matches, 'Conditional update');
      return write(criteria.resourceType, conditionalUpdateId(criteria, match, body) ?? newResourceId());
    }
    case 'PATCH':
      return write(criteria.resourceType, requireMatch(criteria, matches, 'Conditional patch').id as string);
  }
}

// ---- 2. identities ------------------------------------------------------------------------

/** R4: resource identities (conditional ones resolved) must not overlap. */
function assertDistinctWrites(targets: readonly Target[]): void {
  const writers = new Map<string, EntryRequest>();
  for (const target of targets) {
    if (target.kind !== 'write') {
      continue;
    }
    const identity = describe(target.key);
    const first = writers.get(identity);
    if (first) {
      const at = entryPath(Math.max(first.index, target.entry.index));
      throw FhirError.badRequest(
        `${at}: ${entryPath(Math.min(first.index, target.entry.index))} and ${at} both write ${identity}; a transaction writes each resource once`,
        at,
      );
    }
    writers.set(identity, target.entry);
  }
}

/** Each entry's fullUrl → the `Type/id` the entry writes or (conditional create) found. */
function fullUrlTargets(targets: readonly Target[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const target of targets) {
    if (target.entry.fullUrl === undefined) {
      continue;
    }
    if (target.kind === 'write') {
      map.set(target.entry.fullUrl, describe(target.key));
    } else if (target.kind === 'existing') {
      map.set(target.entry.fullUrl, `${target.resource.resourceType}/${target.resource.id}`);
    }
  }
  return map;
}

// ---- 3. state and content -----------------------------------------------------------------

/** The write against `state`; none when a delete finds the resource already deleted. */
function plan(target: WriteTarget, state: WriteState, fullUrls: ReadonlyMap<string, string>): PlannedWrite[] {
  const { entry, key } = target;
  const current = state.kind === 'present' ? state.current : undefined;
  assertIfMatch(key, current, entry.ifMatch);
  const created = !current || current.deleted;
  const store = (resource: Resource): PlannedWrite[] => [{ target, state, created, content: withFullUrlsReplaced(entry, resource, fullUrls) }];
  switch (entry.method) {
    case 'POST':
      return store(resourceToCreate(key.resourceType, entry.resource, key.id));
    case 'PUT':
      return store(entry.target.kind === 'instance' ? resourceToUpdate(key, entry.resource) : { ...requireResourceBody(entry.resource, key.resourceType), id: key.id });
    case 'PATCH':
      return store(patchedResource(key, requireLive(key, current), entry.operations));
    case 'DELETE':
      if (!current) {
        throw FhirError.notFound(`${describe(key)} not found`);
      }
      return current.deleted ? [] : [{ target, state, created: false }];
  }
}

/** The content with each fullUrl replaced; a `urn:uuid:`/`urn:oid:` reference left over names no entry. */
function withFullUrlsReplaced(entry: EntryRequest, resource: Resource, fullUrls: ReadonlyMap<string, string>): Resource {
  const content = replaceFullUrls(resource, fullUrls);
  const dangling = referencesIn(content, `${entryPath(entry.index)}.resource`).find(({ reference }) => isTemporaryReference(reference));
  if (dangling) {
    throw FhirError.badRequest(`${dangling.reference} is no entry's fullUrl in this Bundle (or names an entry that writes nothing)`, dangling.path);
  }
  return content;
}

// ---- 4. conditional references ------------------------------------------------------------

/**
 * Each distinct conditional reference is searched once. Its candidates are the stored matches,
 * except resources this transaction deletes or rewrites, plus this transaction's own content
 * that matches, so an entry may refer by identifier to a resource created in the same Bundle.
 * Criteria only the engine can decide (chains, `_has`) see stored data alone.
 */
async function resolveConditionalReferences(context: FhirContext, planned: readonly PlannedWrite[]): Promise<PlannedWrite[]> {
  const firstUse = new Map<string, { entry: EntryRequest; path: string }>();
  for (const write of planned) {
    for (const { reference, path } of write.content ? referencesIn(write.content, `${entryPath(write.target.entry.index)}.resource`) : []) {
      if (isConditionalReference(reference) && !firstUse.has(reference)) {
        firstUse.set(reference, { entry: write.target.entry, path });
      }
    }
  }
  if (firstUse.size === 0) {
    return [...planned];
  }
  const contents = planned.flatMap((write) => (write.content ? [write.content] : []));
  const targets = new Map<string, string>();
  await mapLimited([...firstUse], READS_IN_FLIGHT, ([reference, { entry, path }]) =>
    withEntry(entry, async () => {
      const criteria = parseConditionalUrl(reference, path);
      const rewritten = new Set(planned.filter((write) => write.target.key.resourceType === criteria.resourceType).map((write) => describe(write.target.key)));
      const { query, resources } = await findMatches(context, criteria, rewritten);
      const own = contents.filter((content) => matchesInProcess(query, content) === true);
      targets.set(reference, referenceTarget(criteria, [...resources, ...own], path));
    }),
  );
  return planned.map((write) => (write.content ? { ...write, content: replaceReferences(write.content, targets) } : write));
}

// ---- responses and errors -----------------------------------------------------------------

function writeEntryOf(write: PlannedWrite, version: ResourceVersion): BundleEntry {
  const status = write.target.method === 'POST' ? 201 : write.target.method === 'PUT' ? (write.created ? 201 : 200) : write.target.method === 'PATCH' ? 200 : 204;
  return bundleEntryOf(writeResponse(write.target.entry.request, status, version));
}

async function withEntry<T>(entry: EntryRequest, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (error) {
    throw atEntry(error, entry);
  }
}

function withEntrySync<T>(entry: EntryRequest, task: () => T): T {
  try {
    return task();
  } catch (error) {
    throw atEntry(error, entry);
  }
}
