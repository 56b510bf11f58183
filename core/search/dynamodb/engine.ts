/**
 * The DynamoDB search engine: always present, strongly consistent (a resource is found the
 * moment its write returns, because every candidate is read back from the table), exact (every
 * criterion is decided in process by `match.ts`), and honest about its limit: a query that
 * would read more than `maxScan` resources of a type is refused, never silently truncated.
 *
 * Access paths, cheapest first: `_id` (and `_has`, which yields ids) → BatchGetItem of those ids;
 * a patient (compartment search, or a compartment parameter such as `patient=`/`subject=` or a
 * chain through one) → that patient's GSI2 partition; `identifier=`/`code=` token values → their
 * GSI1 lookup partitions; a plain listing newest first → one GSI3 page; otherwise every live
 * resource of the type through GSI3.
 *
 * GSIs are updated asynchronously on AWS, so every GSI path also takes the type's recent changes
 * (storage/recent-changes.ts: those younger than the settle time) as candidates: a write
 * acknowledged before the search began is found by its current content even if no GSI has it yet.
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../../errors.js';
import { LOOKUP_PARAMETERS } from '../../storage/index-keys.js';
import { IndexScans } from '../../storage/index-scans.js';
import { RecentChanges, type RecentChangesReader } from '../../storage/recent-changes.js';
import type { ResourceRepository, ResourceVersion } from '../../storage/repository.js';
import type { TenantId } from '../../tenant.js';
import { matchesAll, type ResolvedCriterion } from '../match.js';
import { patientCompartmentParameters } from '../../r4/search-parameters.js';
import type { SearchEngine, SearchResult } from '../engine.js';
import { pageOf } from '../pager.js';
import { includedResources, type MatchSource, parameterDefinitions, resolveCriteria } from '../resolve.js';
import type { Criterion, SearchQuery } from '../types.js';
import type { SearchParameterDefinition } from '../../r4/search-types.js';

export class DynamoSearchEngine implements SearchEngine {
  private readonly scans: IndexScans;

  /** `recentChanges` says how long a write counts as recent for the GSIs; by default, until the stream processor removes its item. */
  constructor(
    private readonly repository: ResourceRepository,
    private readonly maxScan: number,
    private readonly recentChanges = new RecentChanges(repository),
  ) {
    this.scans = new IndexScans(repository);
  }

  async search(tenant: TenantId, query: SearchQuery): Promise<SearchResult> {
    const recent = this.recentChanges.reader(tenant, 'gsis');
    const source: MatchSource = {
      findMatching: (_tenant, resourceType, criteria) => this.findMatching(tenant, resourceType, criteria, recent),
      readCurrent: async (_tenant, references) => resourcesOf(await this.repository.readCurrentMany(tenant, references)),
    };
    if (isPlainListing(query)) {
      const [resourceType] = query.resourceTypes;
      const page = await this.repository.listByLastUpdated(tenant, resourceType, { count: query.count, cursor: query.cursor, recent: await recent(resourceType) });
      const matches = resourcesOf(page.items);
      return { matches, included: await includedResources(source, tenant, matches, query), next: page.next };
    }
    const matches: Resource[] = [];
    for (const resourceType of query.resourceTypes) {
      const criteria = await resolveCriteria(source, tenant, resourceType, query);
      matches.push(...(await this.findMatching(tenant, resourceType, criteria, recent)));
    }
    const page = pageOf(matches, query);
    const included = query.summary === 'count' || query.count === 0 ? [] : await includedResources(source, tenant, page.matches, query);
    return { ...page, included };
  }

  /** Every resource of `resourceType` satisfying all `criteria`. */
  private async findMatching(tenant: TenantId, resourceType: string, criteria: readonly ResolvedCriterion[], recent: RecentChangesReader): Promise<Resource[]> {
    const candidates = await this.candidates(tenant, resourceType, criteria, recent);
    return candidates.filter((resource) => matchesAll(resource, criteria));
  }

  /** The cheapest superset of the matches the table can give. */
  private async candidates(tenant: TenantId, resourceType: string, criteria: readonly ResolvedCriterion[], recent: RecentChangesReader): Promise<Resource[]> {
    const ids = idRestriction(resourceType, criteria);
    if (ids) {
      return resourcesOf(await this.repository.readCurrentMany(tenant, [...ids].map((id) => ({ resourceType, id }))));
    }
    const patients = patientRestriction(resourceType, criteria);
    const lookup = patients ? undefined : lookupRestriction(criteria);
    const [{ items, truncated }, recentlyWritten] = await Promise.all([
      patients
        ? this.scans.scanCompartments(tenant, [...patients], resourceType, this.maxScan)
        : lookup
          ? this.scans.scanLookups(tenant, resourceType, lookup.param, lookup.values, this.maxScan)
          : this.scans.scanType(tenant, resourceType, this.maxScan),
      recent(resourceType),
    ]);
    if (truncated) {
      throw FhirError.of(
        400,
        'too-costly',
        `This search would read more than ${this.maxScan} ${resourceType} resources. Narrow it with _id, a patient (patient=, subject= or Patient/{id}/${resourceType}) or another selective parameter, or enable the OpenSearch engine.`,
      );
    }
    // Both reads are strongly consistent; the recent set also holds what no GSI has yet.
    const indexed = items.filter((version) => !recentlyWritten.refs.has(`${resourceType}/${version.id}`));
    return resourcesOf([...indexed, ...recentlyWritten.current]);
  }
}

/** Ids the matches must be among, when a criterion pins them (`_id`, `_has`); else undefined. */
function idRestriction(resourceType: string, criteria: readonly ResolvedCriterion[]): Set<string> | undefined {
  let ids: Set<string> | undefined;
  const restrict = (allowed: Iterable<string>) => {
    const next = new Set(allowed);
    ids = ids ? new Set([...ids].filter((id) => next.has(id))) : next;
  };
  for (const resolved of criteria) {
    if (resolved.kind === 'self') {
      restrict([...resolved.references].flatMap((key) => (key.startsWith(`${resourceType}/`) ? [key.slice(resourceType.length + 1)] : [])));
    } else if (resolved.kind === 'criterion' && resolved.criterion.param.code === '_id' && resolved.criterion.modifier === undefined) {
      restrict(resolved.criterion.values.flatMap((value) => (value.kind === 'token' && value.code !== undefined ? [value.code] : [])));
    }
  }
  return ids;
}

/**
 * The patients whose compartments hold every match, when a criterion pins them: the compartment,
 * or a compartment parameter (`subject=Patient/1`, a chain through one) pointing at patients only.
 */
function patientRestriction(resourceType: string, criteria: readonly ResolvedCriterion[]): Set<string> | undefined {
  const covered = compartmentCoverage(resourceType);
  for (const resolved of criteria) {
    const keys = coveredReferences(resolved, covered);
    if (keys && keys.every((key) => key.startsWith('Patient/'))) {
      return new Set(keys.map((key) => key.slice('Patient/'.length)));
    }
    if (resolved.kind === 'criterion' && covered(resolved.criterion.param)) {
      const ids = patientIds(resolved.criterion);
      if (ids) {
        return ids;
      }
    }
  }
  return undefined;
}

/**
 * What a resolved reference criterion may point at, when all of it goes through compartment
 * parameters: a chain, or a chain over several target types (`subject.name`: its alternatives
 * through Patient, Group, … together).
 */
function coveredReferences(resolved: ResolvedCriterion, covered: (param: SearchParameterDefinition) => boolean): string[] | undefined {
  if (resolved.kind === 'references') {
    return resolved.params.every(covered) ? [...resolved.references] : undefined;
  }
  if (resolved.kind === 'any' && resolved.of.length > 0) {
    const alternatives = resolved.of.map((alternative) => coveredReferences(alternative, covered));
    return alternatives.every((keys) => keys !== undefined) ? alternatives.flat() as string[] : undefined;
  }
  return undefined;
}

/**
 * `identifier=…` / `code=…` with plain token values, each with a code: the GSI1 lookup partitions
 * hold every resource having one of them.
 */
function lookupRestriction(criteria: readonly ResolvedCriterion[]): { param: string; values: { system?: string; code: string }[] } | undefined {
  for (const resolved of criteria) {
    if (resolved.kind !== 'criterion') {
      continue;
    }
    const { param, modifier, values } = resolved.criterion;
    if (!(LOOKUP_PARAMETERS as readonly string[]).includes(param.code) || param.type !== 'token' || modifier !== undefined) {
      continue;
    }
    const tokens = values.map((value) => (value.kind === 'token' && value.code !== undefined ? { system: value.system, code: value.code } : undefined));
    if (tokens.every((token) => token !== undefined)) {
      return { param: param.code, values: tokens as { system?: string; code: string }[] };
    }
  }
  return undefined;
}

/**
 * Whether a parameter's Patient references all put the resource in those patients' compartments:
 * a compartment parameter, or one whose paths are compartment paths narrowed to Patients
 * (`Observation.subject.where(resolve() is Patient)` is `patient`; `subject` is the compartment's).
 */
function compartmentCoverage(resourceType: string): (param: SearchParameterDefinition) => boolean {
  const paths = (param: SearchParameterDefinition) => param.expression.split('|').map((path) => path.trim().replace(/\.where\(resolve\(\) is Patient\)$/, ''));
  const compartmentPaths = new Set(parameterDefinitions(resourceType, patientCompartmentParameters(resourceType)).flatMap(paths));
  return (param) => param.type === 'reference' && paths(param).every((path) => compartmentPaths.has(path));
}

/** `patient=Patient/1,2` / `subject:Patient=1`: the patient ids, if every value surely names a Patient. */
function patientIds(criterion: Criterion): Set<string> | undefined {
  const { modifier, param } = criterion;
  const typedAsPatient = typeof modifier === 'object' && modifier.type === 'Patient';
  if (param.type !== 'reference' || (modifier !== undefined && !typedAsPatient)) {
    return undefined;
  }
  const onlyPatients = param.targets?.length === 1 && param.targets[0] === 'Patient';
  const ids = criterion.values.map((value) =>
    value.kind === 'reference' && value.id !== undefined && (value.resourceType === 'Patient' || (value.resourceType === undefined && (typedAsPatient || onlyPatients))) ? value.id : undefined,
  );
  return ids.every((id) => id !== undefined) ? new Set(ids as string[]) : undefined;
}

/** No criteria and the default order: one GSI3 page answers it, whatever the type's size. */
export function isPlainListing(query: SearchQuery): boolean {
  const defaultOrder = query.sort.length === 0 || (query.sort.length === 1 && query.sort[0].param === '_lastUpdated' && query.sort[0].descending);
  return query.resourceTypes.length === 1 && query.criteria.length === 0 && !query.compartment && defaultOrder && query.total !== 'accurate' && query.summary !== 'count' && query.count > 0;
}

function resourcesOf(versions: readonly ResourceVersion[]): Resource[] {
  return versions.flatMap((version) => (version.resource ? [version.resource] : []));
}
