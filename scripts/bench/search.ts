/**
 * Part 4: search on the Synthea data (`scripts/load/synthea.ts`), at ×1 (the 33 patients, about
 * 6,700 resources) and at larger scales (every patient copied with suffixed ids), each scale in
 * its own tenant of the same table. Each scale is loaded through the API (`PUT /{type}/{id}`),
 * then every query is timed in this process through the metered API: handler time, matches, and
 * the DynamoDB requests, items and read capacity it cost. A refusal (HTTP 400 too-costly, when a
 * query would read more than FHIR_SEARCH_MAX_SCAN resources of a type) is an outcome to report,
 * not a failure of the benchmark.
 *
 * The query values (a patient, a family name, codes, date ranges) are picked from the ×1 data, so
 * that every scale runs the very same requests.
 */
import type { Bundle, BundleEntry, Condition, Encounter, HumanName, Observation, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { startLocalApi } from '../local/http-server.js';
import { syntheaResources } from '../load/synthea.js';
import { type Invocation, type MeteredApi, startMeteredApi } from './metered-api.js';
import { mean, round, type Summary, summarize } from './stats.js';

export interface SearchBenchOptions {
  readonly syntheaDir: string;
  /** Data set sizes, in copies of the Synthea patients; the first is the reference for growth. */
  readonly scales: readonly number[];
  readonly warmup: number;
  readonly runs: number;
  /** Measuring a query stops early (after at least `MIN_RUNS`) once its runs have taken this long. */
  readonly queryBudgetMs: number;
  /** PUTs in flight while loading. */
  readonly loadConcurrency: number;
}

export interface LoadFigures {
  readonly scale: number;
  readonly tenant: string;
  readonly resources: number;
  readonly seconds: number;
  readonly resourcesPerSecond: number;
}

/** One query at one scale. */
export interface QueryRunFigures {
  readonly scale: number;
  /** HTTP status (the last run's; every run answered the same). */
  readonly status: number;
  /** Bundle.total, or the number of `match` entries when the Bundle has no total. */
  readonly matches?: number;
  /** `include` entries of the page. */
  readonly included?: number;
  /** What the data says the matches should be, where the script can tell without a search engine. */
  readonly expectedMatches?: number;
  /** The OperationOutcome's diagnostics of a refusal or error. */
  readonly diagnostics?: string;
  /** Something about the answer that looks wrong. */
  readonly problems: readonly string[];
  readonly latencyMs: Summary;
  /** Per call, mean over the measured calls. */
  readonly dynamodb: { readonly requests: number; readonly itemsRead: number; readonly readCapacityUnits: number; readonly operations: Record<string, number> };
}

export interface QueryFigures {
  readonly name: string;
  readonly path: string;
  readonly runs: readonly QueryRunFigures[];
  /** Last scale over the first one. */
  readonly growth?: { readonly scale: number; readonly p50: number; readonly itemsRead: number };
}

export interface SearchFigures {
  readonly picks: Picks;
  readonly loads: readonly LoadFigures[];
  readonly queries: readonly QueryFigures[];
}

/** Real values from the data for the queries. */
export interface Picks {
  /** The patient with the most Observations. */
  readonly patientId: string;
  readonly family: string;
  /** The most frequent LOINC code among Observations with a Quantity value in a UCUM unit (not an annotation such as `{score}`). */
  readonly loinc: { readonly code: string; readonly display: string; readonly unit: string; readonly median: number };
  /** The most frequent SNOMED CT Condition code. */
  readonly snomed: { readonly code: string; readonly display: string };
  /** A year of Encounters, [from, to). */
  readonly encounterDates: readonly [string, string];
  /** Birth dates [from, to) and a gender. */
  readonly birthDates: readonly [string, string];
  readonly gender: string;
}

/** One query of the search benchmark; `scripts/bench/stream.ts` runs the same list on OpenSearch. */
export interface QuerySpec {
  readonly name: string;
  path(picks: Picks): string;
  /** The matches, counted from the data by plain code (no search engine), where that is simple. */
  expected?(data: DataIndex, picks: Picks): number;
  /** What is wrong with the answer's page, if anything. */
  verify?(bundle: Bundle, data: DataIndex, picks: Picks): string | undefined;
}

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
/** Even a slow query gets this many measured runs. */
const MIN_RUNS = 5;
/** Warm-up stops after this long (at least one call). */
const WARMUP_BUDGET_MS = 2_000;

export const QUERIES: readonly QuerySpec[] = [
  {
    name: 'Patient by name',
    path: (p) => `/Patient?name=${p.family}`,
    expected: (data, p) => data.of<Patient>('Patient').filter((patient) => (patient.name ?? []).some((name) => nameStartsWith(name, p.family))).length,
  },
  {
    name: 'Patient by birthdate range + gender',
    path: (p) => `/Patient?birthdate=ge${p.birthDates[0]}&birthdate=lt${p.birthDates[1]}&gender=${p.gender}`,
    expected: (data, p) =>
      data
        .of<Patient>('Patient')
        .filter((patient) => patient.gender === p.gender && patient.birthDate !== undefined && patient.birthDate >= p.birthDates[0] && patient.birthDate < p.birthDates[1]).length,
  },
  {
    name: 'Observation by patient',
    path: (p) => `/Observation?patient=${p.patientId}`,
    expected: (data, p) => data.observationsOf(p.patientId).length,
  },
  {
    name: 'Observation by patient + code',
    path: (p) => `/Observation?patient=${p.patientId}&code=${LOINC}|${p.loinc.code}`,
    expected: (data, p) => data.observationsOf(p.patientId).filter((observation) => hasCoding(observation, LOINC, p.loinc.code)).length,
  },
  {
    name: 'Observation by code (system|code)',
    path: (p) => `/Observation?code=${LOINC}|${p.loinc.code}`,
    expected: (data, p) => data.of<Observation>('Observation').filter((observation) => hasCoding(observation, LOINC, p.loinc.code)).length,
  },
  {
    name: 'Observation by code + value-quantity=gt',
    path: (p) => `/Observation?code=${LOINC}|${p.loinc.code}&value-quantity=gt${p.loinc.median}|${UCUM}|${p.loinc.unit}`,
    expected: (data, p) =>
      data.of<Observation>('Observation').filter((observation) => hasCoding(observation, LOINC, p.loinc.code) && (observation.valueQuantity?.value ?? -Infinity) > p.loinc.median)
        .length,
  },
  {
    name: 'Encounter by date range',
    path: (p) => `/Encounter?date=ge${p.encounterDates[0]}&date=lt${p.encounterDates[1]}`,
    expected: (data, p) => data.of<Encounter>('Encounter').filter((encounter) => periodOverlaps(encounter, p.encounterDates)).length,
  },
  {
    name: 'Condition by code (SNOMED)',
    path: (p) => `/Condition?code=${SNOMED}|${p.snomed.code}`,
    expected: (data, p) => data.of<Condition>('Condition').filter((condition) => hasCoding(condition, SNOMED, p.snomed.code)).length,
  },
  {
    name: 'compartment Patient/{id}/Condition',
    path: (p) => `/Patient/${p.patientId}/Condition`,
    expected: (data, p) => data.of<Condition>('Condition').filter((condition) => condition.subject?.reference === `Patient/${p.patientId}`).length,
  },
  {
    name: 'Encounter by patient + _include participant',
    path: (p) => `/Encounter?patient=${p.patientId}&_include=Encounter:participant`,
    expected: (data, p) => data.of<Encounter>('Encounter').filter((encounter) => encounter.subject?.reference === `Patient/${p.patientId}`).length,
    verify: (bundle) => (entries(bundle, 'match').length > 0 && entries(bundle, 'include').length === 0 ? 'no participant included' : undefined),
  },
  {
    name: 'Patient _id + _revinclude Condition',
    path: (p) => `/Patient?_id=${p.patientId}&_revinclude=Condition:patient`,
    expected: () => 1,
    verify: (bundle, data, p) => {
      const conditions = data.of<Condition>('Condition').filter((condition) => condition.subject?.reference === `Patient/${p.patientId}`).length;
      const included = entries(bundle, 'include').length;
      return included === conditions ? undefined : `${included} Conditions included, the data has ${conditions}`;
    },
  },
  {
    name: 'chained subject:Patient.name',
    path: (p) => `/Observation?subject:Patient.name=${p.family}`,
    expected: (data, p) => observationsOfFamily(data, p.family),
  },
  {
    // Unqualified: R4 searches through every target type of `subject` (Patient, Group, Device, Location).
    name: 'chained subject.name',
    path: (p) => `/Observation?subject.name=${p.family}`,
    expected: (data, p) => observationsOfFamily(data, p.family),
  },
  {
    name: 'patient observations _sort=-date',
    path: (p) => `/Observation?patient=${p.patientId}&_sort=-date&_count=20`,
    expected: (data, p) => data.observationsOf(p.patientId).length,
    verify: (bundle, data, p) => {
      const dates = entries(bundle, 'match').map((entry) => (entry.resource as Observation).effectiveDateTime ?? '');
      const latest = data
        .observationsOf(p.patientId)
        .map((observation) => observation.effectiveDateTime ?? '')
        .sort()
        .reverse();
      const descending = dates.every((date, i) => i === 0 || Date.parse(dates[i - 1]!) >= Date.parse(date));
      return !descending ? 'page not in descending date order' : Date.parse(dates[0] ?? '') !== Date.parse(latest[0] ?? '') ? 'first entry is not the latest Observation' : undefined;
    },
  },
  {
    name: 'Patient _has:Condition:patient:code',
    path: (p) => `/Patient?_has:Condition:patient:code=${p.snomed.code}`,
    expected: (data, p) => new Set(data.of<Condition>('Condition').filter((condition) => hasCoding(condition, SNOMED, p.snomed.code)).map((condition) => condition.subject?.reference)).size,
  },
  { name: 'Observation?_count=20 (plain listing)', path: () => '/Observation?_count=20' },
  {
    name: 'Observation?_count=20&_total=accurate',
    path: () => '/Observation?_count=20&_total=accurate',
    expected: (data) => data.of('Observation').length,
  },
];

/** Loads each scale into its own tenant, then runs every query against it. */
export async function benchSearch(options: SearchBenchOptions): Promise<SearchFigures> {
  const picks = pickValues(await syntheaResources(options.syntheaDir, 1));
  const api = await startMeteredApi();
  try {
    const loads: LoadFigures[] = [];
    const runs = new Map<string, QueryRunFigures[]>(QUERIES.map((query) => [query.name, []]));
    for (const scale of options.scales) {
      const tenant = `bench-search-x${scale}`;
      const resources = await syntheaResources(options.syntheaDir, scale);
      console.error(`search ×${scale}: loading ${resources.length} resources into tenant ${tenant}`);
      loads.push(await loadThroughApi(resources, scale, tenant, options.loadConcurrency));
      const data = new DataIndex(resources);
      for (const query of QUERIES) {
        console.error(`search ×${scale}: ${query.name}`);
        runs.get(query.name)!.push(await runQuery(api, query, { picks, data, tenant, scale, options }));
      }
    }
    const queries = QUERIES.map((query) => queryFigures(query, picks, runs.get(query.name)!));
    return { picks, loads, queries };
  } finally {
    await api.close();
  }
}

// ---- loading ------------------------------------------------------------------------------

/**
 * `PUT /{type}/{id}` of every resource, `concurrency` at a time. The metered API serves one
 * request at a time (it reads each request's figures from the log), so the load goes through a
 * plain local API; it is started while the metered API is open, whose stdout capture swallows
 * the handlers' log lines.
 */
export async function loadThroughApi(resources: readonly Resource[], scale: number, tenant: string, concurrency: number): Promise<LoadFigures> {
  const api = await startLocalApi();
  try {
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < resources.length) {
        const resource = resources[next++]!;
        const response = await fetch(`${api.baseUrl}/${resource.resourceType}/${resource.id}`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/fhir+json', 'X-Tenant-ID': tenant },
          body: JSON.stringify(resource),
        });
        const body = await response.text();
        if (response.status !== 200 && response.status !== 201) {
          throw new Error(`PUT ${resource.resourceType}/${resource.id}: HTTP ${response.status}: ${body.slice(0, 2000)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    return { scale, tenant, resources: resources.length, seconds: round(seconds), resourcesPerSecond: round(resources.length / seconds) };
  } finally {
    await api.close();
  }
}

// ---- queries ------------------------------------------------------------------------------

interface QueryContext {
  readonly picks: Picks;
  readonly data: DataIndex;
  readonly tenant: string;
  readonly scale: number;
  readonly options: SearchBenchOptions;
}

async function runQuery(api: MeteredApi, query: QuerySpec, { picks, data, tenant, scale, options }: QueryContext): Promise<QueryRunFigures> {
  const send = () => api.send({ method: 'GET', path: encodePath(query.path(picks)), headers: { 'X-Tenant-ID': tenant } });
  const warmupStarted = performance.now();
  for (let i = 0; i < options.warmup && (i === 0 || performance.now() - warmupStarted < WARMUP_BUDGET_MS); i++) {
    await send();
  }
  const calls: Invocation[] = [];
  const started = performance.now();
  while (calls.length < options.runs && (calls.length < MIN_RUNS || performance.now() - started < options.queryBudgetMs)) {
    calls.push(await send());
  }
  const last = calls[calls.length - 1]!;
  const problems: string[] = [];
  const statuses = new Set(calls.map((call) => call.result.statusCode));
  if (statuses.size > 1) {
    problems.push(`statuses varied: ${[...statuses].join(', ')}`);
  }
  const body = JSON.parse(last.result.body) as Bundle | OperationOutcome;
  const expectedMatches = query.expected?.(data, picks);
  let answer: Pick<QueryRunFigures, 'matches' | 'included' | 'diagnostics'>;
  if (body.resourceType === 'Bundle') {
    const matches = body.total ?? entries(body, 'match').length;
    answer = { matches, included: entries(body, 'include').length };
    if (expectedMatches !== undefined && matches !== expectedMatches) {
      problems.push(`${matches} matches, the data has ${expectedMatches}`);
    }
    const problem = query.verify?.(body, data, picks);
    if (problem) {
      problems.push(problem);
    }
  } else {
    answer = { diagnostics: body.issue?.map((issue) => issue.diagnostics ?? issue.code).join('; ') };
    if (last.result.statusCode !== 400) {
      problems.push(`HTTP ${last.result.statusCode}`);
    }
  }
  const usages = calls.map((call) => call.dynamodb);
  return {
    scale,
    status: last.result.statusCode,
    ...answer,
    ...(expectedMatches === undefined ? {} : { expectedMatches }),
    problems,
    latencyMs: summarize(calls.map((call) => call.handlerMs)),
    dynamodb: {
      requests: round(mean(usages.map((usage) => usage.requests))),
      itemsRead: round(mean(usages.map((usage) => usage.itemsRead))),
      readCapacityUnits: round(mean(usages.map((usage) => usage.readCapacityUnits))),
      operations: last.dynamodb.operations,
    },
  };
}

function queryFigures(query: QuerySpec, picks: Picks, runs: readonly QueryRunFigures[]): QueryFigures {
  const first = runs[0];
  const last = runs[runs.length - 1];
  const growth =
    first && last && last !== first
      ? {
          scale: round(last.scale / first.scale),
          p50: round(last.latencyMs.p50 / first.latencyMs.p50),
          itemsRead: first.dynamodb.itemsRead === 0 ? 0 : round(last.dynamodb.itemsRead / first.dynamodb.itemsRead),
        }
      : undefined;
  return { name: query.name, path: query.path(picks), runs, ...(growth ? { growth } : {}) };
}

/** Percent-encodes what a client would (the `|` of tokens, spaces), keeping the URL's structure. */
export function encodePath(path: string): string {
  return encodeURI(path).replace(/\|/g, '%7C');
}

export function entries(bundle: Bundle, mode: 'match' | 'include'): BundleEntry[] {
  return (bundle.entry ?? []).filter((entry) => entry.search?.mode === mode);
}

// ---- the data -----------------------------------------------------------------------------

/** The loaded resources by type, for the expected counts. */
export class DataIndex {
  private readonly byType = new Map<string, Resource[]>();
  private readonly observationsByPatient = new Map<string, Observation[]>();

  constructor(resources: readonly Resource[]) {
    for (const resource of resources) {
      const ofType = this.byType.get(resource.resourceType) ?? [];
      ofType.push(resource);
      this.byType.set(resource.resourceType, ofType);
      if (resource.resourceType === 'Observation') {
        const subject = resource.subject?.reference ?? '';
        const ofSubject = this.observationsByPatient.get(subject) ?? [];
        ofSubject.push(resource);
        this.observationsByPatient.set(subject, ofSubject);
      }
    }
  }

  of<T extends Resource>(resourceType: T['resourceType']): T[] {
    return (this.byType.get(resourceType) ?? []) as T[];
  }

  observationsOf(patientId: string): Observation[] {
    return this.observationsByPatient.get(`Patient/${patientId}`) ?? [];
  }
}

export function pickValues(resources: readonly Resource[]): Picks {
  const data = new DataIndex(resources);
  const observations = data.of<Observation>('Observation');
  const patientId = mostFrequent(observations.map((observation) => observation.subject?.reference ?? '')).replace(/^Patient\//, '');
  const patient = data.of<Patient>('Patient').find((candidate) => candidate.id === patientId)!;
  const family = patient.name?.find((name) => name.family)?.family ?? '';

  const quantified = observations.filter(
    (observation) => observation.valueQuantity?.system === UCUM && observation.valueQuantity.value !== undefined && !observation.valueQuantity.code?.startsWith('{'),
  );
  const code = mostFrequent(quantified.flatMap((observation) => codesOf(observation, LOINC)));
  const ofCode = quantified.filter((observation) => hasCoding(observation, LOINC, code));
  const values = ofCode.map((observation) => observation.valueQuantity!.value!).sort((a, b) => a - b);
  const loinc = {
    code,
    display: ofCode[0]?.code?.coding?.find((coding) => coding.code === code)?.display ?? '',
    unit: ofCode[0]?.valueQuantity?.code ?? '',
    // A round number, as a client would type it.
    median: Math.round(values[Math.floor(values.length / 2)]!),
  };

  const conditions = data.of<Condition>('Condition');
  const snomedCode = mostFrequent(conditions.flatMap((condition) => codesOf(condition, SNOMED)));
  const snomed = {
    code: snomedCode,
    display: conditions.flatMap((condition) => condition.code?.coding ?? []).find((coding) => coding.code === snomedCode)?.display ?? '',
  };

  const year = mostFrequent(data.of<Encounter>('Encounter').map((encounter) => encounter.period?.start?.slice(0, 4) ?? ''));
  const gender = mostFrequent(data.of<Patient>('Patient').map((candidate) => candidate.gender ?? ''));
  return {
    patientId,
    family,
    loinc,
    snomed,
    encounterDates: [`${year}-01-01`, `${Number(year) + 1}-01-01`],
    birthDates: ['1950-01-01', '1990-01-01'],
    gender,
  };
}

function mostFrequent(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) {
    if (value !== '') {
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
  }
  const [best] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!best) {
    throw new Error('No values to pick a query value from');
  }
  return best[0];
}

function codesOf(resource: Observation | Condition, system: string): string[] {
  return (resource.code?.coding ?? []).flatMap((coding) => (coding.system === system && coding.code ? [coding.code] : []));
}

function hasCoding(resource: Observation | Condition, system: string, code: string): boolean {
  return codesOf(resource, system).includes(code);
}

/** The `name` parameter: any part of the name starts with the value, ignoring case. */
function nameStartsWith(name: HumanName, value: string): boolean {
  const parts = [name.family, name.text, ...(name.given ?? []), ...(name.prefix ?? []), ...(name.suffix ?? [])];
  return parts.some((part) => part?.toLowerCase().startsWith(value.toLowerCase()));
}

/** Observations whose subject is a Patient with a name part starting with `family`. */
function observationsOfFamily(data: DataIndex, family: string): number {
  const patients = new Set(data.of<Patient>('Patient').filter((patient) => (patient.name ?? []).some((name) => nameStartsWith(name, family))).map((patient) => `Patient/${patient.id}`));
  return data.of<Observation>('Observation').filter((observation) => patients.has(observation.subject?.reference ?? '')).length;
}

/** `date=ge{from}&date=lt{to}` on a Period: it ends at or after `from` and starts before `to`. */
function periodOverlaps(encounter: Encounter, [from, to]: readonly [string, string]): boolean {
  const start = Date.parse(encounter.period?.start ?? '');
  const end = encounter.period?.end === undefined ? Infinity : Date.parse(encounter.period.end);
  return end >= Date.parse(`${from}T00:00:00Z`) && start < Date.parse(`${to}T00:00:00Z`);
}
