/**
 * The analytics report of one tenant, as stored (JSON, `schemaVersion` 1) and served by
 * `GET /$analytics`. docs/analytics.md documents every field. Each figure carries the moment it
 * was computed as of and where it came from, because the parts of one run read different stores
 * at slightly different times (the index lags the table by about a second).
 */

export const REPORT_SCHEMA = 'fhir-serverless/analytics-report';
/** Raised on any change a reader must know of: a field removed or its meaning changed. New fields keep it. */
export const REPORT_SCHEMA_VERSION = 1;

/** Where a figure was aggregated: the search index, the table's access paths, or the audit log (in the table). */
export type FigureSource = 'opensearch' | 'dynamodb' | 'audit-log' | 'sqs';

export interface Figure<T> {
  /** The instant the figure describes: the data as it was then (ISO 8601). */
  readonly asOf: string;
  readonly source: FigureSource;
  readonly data: T;
}

export interface TypeCount {
  readonly resourceType: string;
  readonly count: number;
}

/** Resources of a type whose `meta.lastUpdated` falls in a period (`2024-05` or the Monday `2024-05-27`). */
export interface PeriodCount {
  readonly resourceType: string;
  readonly period: string;
  readonly count: number;
}

export interface AgeGenderCount {
  readonly ageBand: string;
  /** Patient.gender, or `unknown` when absent. */
  readonly gender: string;
  readonly count: number;
}

export interface EncounterMonthCount {
  /** The UTC month of Encounter.period.start. */
  readonly month: string;
  /** Encounter.class code (v3 ActEncounterCode: AMB, EMER, IMP, …). */
  readonly class: string;
  readonly count: number;
}

export interface CodeCount {
  readonly system?: string;
  readonly code: string;
  /** The coding's display, from the first resource (by id) carrying the code. */
  readonly display?: string;
  /** Resources carrying the code. */
  readonly count: number;
}

/** What the two aggregation paths both compute; the tests hold them equal. */
export interface TenantFigures {
  readonly resourcesByType: readonly TypeCount[];
  readonly updatedPerMonth: readonly PeriodCount[];
  readonly updatedPerWeek: readonly PeriodCount[];
  readonly patientsByAgeGender: readonly AgeGenderCount[];
  readonly encountersByMonth: readonly EncounterMonthCount[];
  readonly topConditions: readonly CodeCount[];
  readonly topObservationCodes: readonly CodeCount[];
}

/** A data-quality finding: how many, and a few examples to look at. */
export interface Finding<Sample> {
  readonly count: number;
  readonly samples: readonly Sample[];
}

export interface DataQuality {
  /** Literal references (`Type/id`) to a resource the tenant does not hold (absent or deleted). */
  readonly unresolvedReferences: Finding<{ readonly resource: string; readonly path: string; readonly reference: string }>;
  /** Resources the server's current validation (core/fhir/validation.ts) rejects, e.g. after a definitions upgrade. */
  readonly invalidResources: Finding<{ readonly resource: string; readonly issue: string }> & {
    readonly byType: readonly TypeCount[];
    /** Resources validated: fewer than `resourcesChecked` when the run's time ran short (the rest were checked for references and identifiers only). */
    readonly validated: number;
    /** Of those, the verdicts kept from an earlier run: the resource has not changed since. */
    readonly reused: number;
  };
  readonly patientsWithoutIdentifier: Finding<string>;
  /** Resources read to find these. */
  readonly resourcesChecked: number;
}

export interface ActivityCount {
  readonly day: string;
  /** The audited interaction (read, search-type, create, …). */
  readonly interaction: string;
  /** AuditEvent.outcome: 0 success, 4 client error, 8 server error. */
  readonly outcome: string;
  readonly count: number;
}

export interface ApiActivity {
  readonly from: string;
  readonly to: string;
  readonly perDay: readonly ActivityCount[];
  /** The authenticated subjects (users and backend clients, `sub`) with the most requests. */
  readonly topUsers: readonly { readonly who: string; readonly count: number }[];
  /** The source addresses with the most requests (the audit record keeps no client id). */
  readonly topClients: readonly { readonly address: string; readonly count: number }[];
  readonly events: number;
}

export interface IndexHealth {
  /** Per type, live resources in the table that the index lacks (or holds in excess, negative); absent without OpenSearch. */
  readonly notIndexed?: readonly TypeCount[];
  /** Resources indexed in a degraded form (core/search/opensearch/index-issues.ts); absent without OpenSearch. */
  readonly incompletelyIndexed?: Finding<{ readonly resource: string; readonly issues: readonly string[] }>;
  /** Failure records in the stream's dead-letter queue (stage-wide: a record names a shard range, not a tenant); absent when not configured. */
  readonly deadLetters?: number;
}

export interface AnalyticsReport {
  readonly schema: typeof REPORT_SCHEMA;
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly tenant: string;
  readonly runId: string;
  /** The as-of moment of the run: age bands and the activity window are relative to it. */
  readonly asOf: string;
  readonly completedAt: string;
  /** Which path aggregated the resource figures. */
  readonly engine: 'opensearch' | 'dynamodb';
  readonly resourcesByType: Figure<readonly TypeCount[]>;
  readonly growth: Figure<{ readonly perMonth: readonly PeriodCount[]; readonly perWeek: readonly PeriodCount[] }>;
  readonly patientsByAgeGender: Figure<readonly AgeGenderCount[]>;
  readonly encountersByMonth: Figure<readonly EncounterMonthCount[]>;
  readonly topConditions: Figure<readonly CodeCount[]>;
  readonly topObservationCodes: Figure<readonly CodeCount[]>;
  readonly dataQuality: Figure<DataQuality>;
  readonly apiActivity: Figure<ApiActivity>;
  readonly indexHealth: Figure<IndexHealth>;
}

/** How many codes the top lists keep. */
export const TOP_CODES = 20;

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The one order of every figure list, whichever path produced it. */
export function canonicalFigures(figures: TenantFigures): TenantFigures {
  const periods = (list: readonly PeriodCount[]) => [...list].sort((a, b) => byText(a.resourceType, b.resourceType) || byText(a.period, b.period));
  return {
    resourcesByType: [...figures.resourcesByType].sort((a, b) => byText(a.resourceType, b.resourceType)),
    updatedPerMonth: periods(figures.updatedPerMonth),
    updatedPerWeek: periods(figures.updatedPerWeek),
    patientsByAgeGender: [...figures.patientsByAgeGender].sort((a, b) => byText(a.ageBand, b.ageBand) || byText(a.gender, b.gender)),
    encountersByMonth: [...figures.encountersByMonth].sort((a, b) => byText(a.month, b.month) || byText(a.class, b.class)),
    topConditions: topCodes(figures.topConditions),
    topObservationCodes: topCodes(figures.topObservationCodes),
  };
}

/** Most resources first, then by system and code; the first `TOP_CODES`. */
export function topCodes(codes: readonly CodeCount[]): CodeCount[] {
  return [...codes].sort((a, b) => b.count - a.count || byText(a.system ?? '', b.system ?? '') || byText(a.code, b.code)).slice(0, TOP_CODES);
}
