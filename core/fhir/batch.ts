/**
 * `POST /` with a batch or transaction Bundle (R4 http.html#transaction). A transaction is all
 * or nothing (`transaction.ts`); a batch runs each entry on its own, exactly as the single
 * request would, and one failing entry only fails its own response entry.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { mapLimited } from '../map-limited.js';
import { FhirError } from '../errors.js';
import { isConditionalReference, referencesIn, replaceReferences } from '../r4/references.js';
import { type BundleProcessing, type EntryRequest, entryPath, errorEntry, parseEntry, responseEntry } from './batch-entry.js';
import { findMatches, parseConditionalUrl, referenceTarget } from './conditional.js';
import type { FhirContext } from './interactions.js';
import type { FhirRequest } from './request.js';
import { processTransaction } from './transaction.js';

/** Most entries one Bundle may carry (413 above): bounds the work, and the time, of one request. */
export const MAX_BUNDLE_ENTRIES = 1000;

/** Batch entries processed at once. */
const BATCH_ENTRIES_IN_FLIGHT = 8;

type BundleType = 'batch' | 'transaction';

export async function processBundle(context: FhirContext, body: unknown, processing: BundleProcessing): Promise<Bundle> {
  const { type, entries, fullUrls } = readBundle(body);
  if (type === 'transaction') {
    return processTransaction(context, entries.map((raw, index) => parseEntry(raw, index, processing.request)), processing);
  }
  return processBatch(context, entries, fullUrls, processing);
}

/** The Bundle's type and entries, after the checks that concern the Bundle as a whole. */
function readBundle(body: unknown): { type: BundleType; entries: unknown[]; fullUrls: Set<string> } {
  const bundle = body as { resourceType?: unknown; type?: unknown; entry?: unknown };
  if (typeof body !== 'object' || body === null || Array.isArray(body) || bundle.resourceType !== 'Bundle') {
    throw FhirError.badRequest(`POST / takes a Bundle of type batch or transaction, not ${describeBody(body)}`, 'resourceType');
  }
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    const got = bundle.type === undefined ? 'no type' : `type ${JSON.stringify(bundle.type).slice(0, 40)}`;
    throw FhirError.badRequest(`POST / takes a Bundle of type batch or transaction; this one has ${got}`, 'Bundle.type');
  }
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) {
    throw FhirError.badRequest('Bundle.entry must be an array', 'Bundle.entry');
  }
  if (entries.length > MAX_BUNDLE_ENTRIES) {
    throw FhirError.payloadTooLarge(`This Bundle has ${entries.length} entries; the limit is ${MAX_BUNDLE_ENTRIES} per Bundle: split it into several`);
  }
  return { type: bundle.type, entries, fullUrls: uniqueFullUrls(entries) };
}

/** The entries' fullUrls. R4 bdl-7: each is unique in a Bundle; a reference to a repeated one would be ambiguous. */
function uniqueFullUrls(entries: readonly unknown[]): Set<string> {
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const fullUrl = (entry as { fullUrl?: unknown } | null)?.fullUrl;
    if (typeof fullUrl !== 'string') {
      return;
    }
    const first = seen.get(fullUrl);
    if (first !== undefined) {
      throw FhirError.badRequest(`${entryPath(index)}: fullUrl ${fullUrl.slice(0, 100)} is also the fullUrl of ${entryPath(first)}; fullUrls must be unique`, `${entryPath(index)}.fullUrl`);
    }
    seen.set(fullUrl, index);
  });
  return new Set(seen.keys());
}

function describeBody(body: unknown): string {
  if (typeof body !== 'object' || body === null) {
    return String(body).slice(0, 40);
  }
  if (Array.isArray(body)) {
    return 'a JSON array';
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  return resourceType === undefined ? 'an object without a resourceType' : `a ${String(resourceType).slice(0, 64)}`;
}

// ---- batch --------------------------------------------------------------------------------

async function processBatch(context: FhirContext, rawEntries: readonly unknown[], fullUrls: ReadonlySet<string>, processing: BundleProcessing): Promise<Bundle> {
  const responses = await mapLimited(rawEntries.map((raw, index) => ({ raw, index })), BATCH_ENTRIES_IN_FLIGHT, async ({ raw, index }) => {
    let entry: EntryRequest | undefined;
    try {
      entry = parseEntry(raw, index, processing.request);
      const request = await withBatchReferences(context, entry, fullUrls);
      return responseEntry(await processing.dispatch(request), entry);
    } catch (error) {
      if (!(error instanceof FhirError)) {
        processing.onUnexpectedError?.(error);
      }
      return errorEntry(error, entry);
    }
  });
  return { resourceType: 'Bundle', type: 'batch-response', entry: responses };
}

/** The entry's request, with the conditional references of the resource it creates or updates resolved. */
async function withBatchReferences(context: FhirContext, entry: EntryRequest, fullUrls: ReadonlySet<string>): Promise<FhirRequest> {
  const writes = (entry.method === 'POST' && entry.target.kind === 'type') || entry.method === 'PUT';
  if (!writes) {
    return entry.request;
  }
  const resource = await resolveBatchReferences(context, entry, fullUrls);
  return resource === entry.resource ? entry.request : { ...entry.request, body: { kind: 'entry', resource } };
}

/**
 * A batch entry's conditional references, resolved against stored data. Batch entries are
 * independent (R4 bundle.html#batch), so a reference to another entry's fullUrl is an error.
 */
async function resolveBatchReferences(context: FhirContext, entry: EntryRequest, fullUrls: ReadonlySet<string>): Promise<Resource> {
  const resource = entry.resource as Resource;
  const targets = new Map<string, string>();
  for (const { reference, path } of referencesIn(resource, `${entryPath(entry.index)}.resource`)) {
    if (fullUrls.has(reference)) {
      throw FhirError.badRequest(`${entryPath(entry.index)}: ${reference} is another entry of this batch; batch entries are independent, so use a transaction`, path);
    }
    if (isConditionalReference(reference) && !targets.has(reference)) {
      const criteria = parseConditionalUrl(reference, path);
      targets.set(reference, referenceTarget(criteria, (await findMatches(context, criteria)).resources, path));
    }
  }
  return targets.size > 0 ? replaceReferences(resource, targets) : resource;
}
