/**
 * The analytics run on the Synthea sample (33 patients, about 6,700 resources) plus a few
 * resources with known defects: its figures equal an independent computation in plain TypeScript
 * over the same resources (never through the server's extraction or aggregation code), and the
 * OpenSearch path (aggregations over an index of the tenant) agrees with the DynamoDB-only path
 * (the tenant's GSI3 partitions and BatchGetItem) figure by figure.
 */
import { randomUUID } from 'node:crypto';
import type { Condition, Encounter, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../../core/analytics/run.js';
import type { AnalyticsReport } from '../../../core/analytics/report.js';
import { ValidationVerdicts } from '../../../core/analytics/verdicts.js';
import { AuditLog } from '../../../core/audit/audit-log.js';
import { config } from '../../../core/config.js';
import { createDocumentClient } from '../../../core/storage/dynamo-client.js';
import { ResourceRepository } from '../../../core/storage/repository.js';
import { parseTenantId } from '../../../core/tenant.js';
import { syntheaResources } from '../../../scripts/load/synthea.js';
import { useLocalApi } from '../../support/local-api.js';
import { indexTenant, useOpenSearchIndex } from '../../support/opensearch.js';
import { loadSynthea, putVia } from '../../search/synthea.js';

const api = useLocalApi();
const search = useOpenSearchIndex();
const tenant = parseTenantId(`analytics-${randomUUID().slice(0, 8)}`);

/** Written through the API: a Patient without identifiers and an Observation pointing at a Patient that does not exist. */
const withoutIdentifier: Patient = { resourceType: 'Patient', id: 'quality-no-identifier', gender: 'female', birthDate: '2010-06-01' };
const dangling: Observation = {
  resourceType: 'Observation',
  id: 'quality-dangling',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: 'Patient/does-not-exist' },
};
/** Stored past validation (as data written before a stricter rule would be): `mail` is no AdministrativeGender. */
const invalid = { resourceType: 'Patient', id: 'quality-invalid', gender: 'mail', identifier: [{ value: 'x-1' }] } as unknown as Patient;

let resources: Resource[];
let asOf: string;
let viaTable: AnalyticsReport;
let viaIndex: AnalyticsReport;
/** A run whose time for validation was already up: every other check still done. */
let outOfTime: AnalyticsReport;
/** Out of time too, with `viaTable`'s verdicts, one of them for an older version of its resource. */
let withVerdicts: AnalyticsReport;

beforeAll(async () => {
  resources = [...(await syntheaResources()), withoutIdentifier, dangling];
  await loadSynthea(resources, putVia(api, tenant));
  const repository = new ResourceRepository(createDocumentClient(config()), config().tableName);
  await repository.write({ tenant, resourceType: 'Patient', id: invalid.id! }, { presume: 'absent' }, () => ({ kind: 'write', method: 'PUT', resource: invalid }));
  resources.push(invalid);
  await indexTenant(search, tenant);
  // Audited reads (the load's writes are audited by the stream processor, which this test does not run).
  for (const path of ['/Patient/quality-no-identifier', '/Patient/quality-no-identifier', '/Patient/absent', '/Observation?code=8867-4']) {
    await api.request('GET', path, { tenant });
  }
  asOf = new Date().toISOString();
  const sources = { repository, auditLog: new AuditLog(repository.client, repository.tableName), index: { client: search.client, index: search.index } };
  const options = { tenant, runId: 'test', asOf, activityDays: 2 };
  const verdicts = new ValidationVerdicts();
  viaTable = await buildReport(sources, { ...options, engine: 'dynamodb', verdicts });
  viaIndex = await buildReport(sources, { ...options, engine: 'opensearch' });
  outOfTime = await buildReport(sources, { ...options, engine: 'dynamodb', validateUntil: Date.now() });
  const stored = verdicts.toStored();
  const changed = { ...stored, verdicts: { ...stored.verdicts, 'Patient/quality-invalid': ['2000-01-01T00:00:00.000Z', 'gender: an older version'] as const } };
  withVerdicts = await buildReport(sources, { ...options, engine: 'dynamodb', validateUntil: Date.now(), verdicts: new ValidationVerdicts(changed) });
}, 600_000);

// ---- the oracle: plain TypeScript over the resources as loaded ----

function countBy<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) {
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return counts;
}

function ageOn(birthDate: string, day: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

function bandOf(age: number): string {
  const bands: [number, string][] = [[80, '80+'], [65, '65-79'], [50, '50-64'], [35, '35-49'], [18, '18-34'], [0, '0-17']];
  return bands.find(([min]) => age >= min)?.[1] ?? 'unknown';
}

function codeCounts(items: readonly (Condition | Observation)[]) {
  const counts = new Map<string, { count: number; display?: string; firstId: string }>();
  for (const item of [...items].sort((a, b) => (a.id! < b.id! ? -1 : 1))) {
    const seen = new Set<string>();
    for (const coding of item.code?.coding ?? []) {
      const key = `${coding.system ?? ''}|${coding.code}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = counts.get(key);
      if (entry) entry.count++;
      else counts.set(key, { count: 1, display: coding.display, firstId: item.id! });
    }
  }
  return counts;
}

const ofType = <T extends Resource>(type: T['resourceType']) => resources.filter((resource): resource is T => resource.resourceType === type);

describe('the report equals an independent computation over the loaded data', () => {
  it('counts resources by type', () => {
    const expected = Object.fromEntries(countBy(resources, (resource) => resource.resourceType));
    expect(Object.fromEntries(viaTable.resourcesByType.data.map((type) => [type.resourceType, type.count]))).toEqual(expected);
    expect(expected.Patient).toBe(35);
    // Growth buckets add up to the counts, per type.
    const perMonth = countBy(viaTable.growth.data.perMonth.flatMap((period) => Array<string>(period.count).fill(period.resourceType)), (type) => type);
    expect(Object.fromEntries(perMonth)).toEqual(expected);
  });

  it('counts patients by age band and gender on the as-of day', () => {
    const day = asOf.slice(0, 10);
    const expected = countBy(ofType<Patient>('Patient'), (patient) => `${patient.birthDate ? bandOf(ageOn(patient.birthDate, day)) : 'unknown'} ${patient.gender ?? 'unknown'}`);
    expect(Object.fromEntries(viaTable.patientsByAgeGender.data.map((row) => [`${row.ageBand} ${row.gender}`, row.count]))).toEqual(Object.fromEntries(expected));
  });

  it('counts encounters per month of their start, by class', () => {
    const expected = countBy(ofType<Encounter>('Encounter'), (encounter) =>
      encounter.period?.start && encounter.class?.code ? `${new Date(encounter.period.start).toISOString().slice(0, 7)} ${encounter.class.code}` : undefined,
    );
    expect(expected.size).toBeGreaterThan(50);
    expect(Object.fromEntries(viaTable.encountersByMonth.data.map((row) => [`${row.month} ${row.class}`, row.count]))).toEqual(Object.fromEntries(expected));
  });

  it('lists the top condition and observation codes with their display names', () => {
    for (const [list, items] of [
      [viaTable.topConditions.data, ofType<Condition>('Condition')],
      [viaTable.topObservationCodes.data, ofType<Observation>('Observation')],
    ] as const) {
      const expected = [...codeCounts(items)].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1)).slice(0, 20);
      expect(list.map((code) => [`${code.system ?? ''}|${code.code}`, code.count, code.display])).toEqual(expected.map(([key, { count, display }]) => [key, count, display]));
    }
    expect(viaTable.topObservationCodes.data[0]!.display).toBeTruthy();
  });

  it('finds the planted data-quality defects, with sample ids', () => {
    const quality = viaTable.dataQuality.data;
    expect(quality.resourcesChecked).toBe(resources.length);
    expect(quality.invalidResources.validated).toBe(resources.length);
    expect(quality.patientsWithoutIdentifier).toEqual({ count: 1, samples: ['Patient/quality-no-identifier'] });
    expect(quality.unresolvedReferences.samples).toContainEqual({ resource: 'Observation/quality-dangling', path: 'Observation.subject.reference', reference: 'Patient/does-not-exist' });
    expect(quality.invalidResources.samples.map((sample) => sample.resource)).toContain('Patient/quality-invalid');
    expect(quality.invalidResources.samples.find((sample) => sample.resource === 'Patient/quality-invalid')?.issue).toMatch(/gender/);
  });

  it('states the moment of every figure', () => {
    for (const name of ['resourcesByType', 'growth', 'patientsByAgeGender', 'encountersByMonth', 'topConditions', 'topObservationCodes', 'dataQuality', 'apiActivity', 'indexHealth'] as const) {
      expect(Date.parse(viaTable[name].asOf), name).not.toBeNaN();
    }
  });

  it('counts the API activity from the audit log by day, interaction and outcome', () => {
    const day = asOf.slice(0, 10);
    expect(viaTable.apiActivity.data.perDay).toEqual([
      { day, interaction: 'read', outcome: '0', count: 2 },
      { day, interaction: 'read', outcome: '4', count: 1 },
      { day, interaction: 'search-type', outcome: '0', count: 1 },
    ]);
    expect(viaTable.apiActivity.data.topUsers).toEqual([{ who: 'local-developer', count: 4 }]);
  });
});

describe('a run short of time', () => {
  it('stops validating, says how many it validated, and still finds every other defect', () => {
    const quality = outOfTime.dataQuality.data;
    expect(quality.resourcesChecked).toBe(resources.length);
    expect(quality.invalidResources).toEqual({ count: 0, samples: [], byType: [], validated: 0, reused: 0 });
    expect(quality.unresolvedReferences).toEqual(viaTable.dataQuality.data.unresolvedReferences);
    expect(quality.patientsWithoutIdentifier).toEqual(viaTable.dataQuality.data.patientsWithoutIdentifier);
    expect(outOfTime.resourcesByType.data).toEqual(viaTable.resourcesByType.data);
  });
});

describe('validation verdicts kept from an earlier run', () => {
  it('hold for the resources unchanged since, without validating them again', () => {
    const invalid = withVerdicts.dataQuality.data.invalidResources;
    expect(invalid.reused).toBe(resources.length - 1);
    expect(invalid.validated).toBe(resources.length - 1);
    // The first run had none to keep.
    expect(viaTable.dataQuality.data.invalidResources.reused).toBe(0);
  });

  it('do not hold for a resource changed since: its older verdict is not reported', () => {
    const invalid = withVerdicts.dataQuality.data.invalidResources;
    expect(invalid.samples.map((sample) => sample.resource)).not.toContain('Patient/quality-invalid');
    expect(invalid.count).toBe(viaTable.dataQuality.data.invalidResources.count - 1);
  });

  it('are dropped when validation itself has changed', () => {
    const stored = new ValidationVerdicts({ fingerprint: 'an older release', verdicts: { 'Patient/a': ['2024-01-01T00:00:00.000Z', 'gender: bad'] } });
    expect(stored.earlierIssue('Patient/a', '2024-01-01T00:00:00.000Z')).toBeUndefined();
  });
});

describe('both aggregation paths agree', () => {
  it('on every resource figure', () => {
    for (const name of ['resourcesByType', 'growth', 'patientsByAgeGender', 'encountersByMonth', 'topConditions', 'topObservationCodes', 'dataQuality'] as const) {
      expect(viaIndex[name].data, name).toEqual(viaTable[name].data);
    }
    expect(viaIndex.engine).toBe('opensearch');
    expect(viaTable.engine).toBe('dynamodb');
  });

  it('and the index misses nothing the table holds', () => {
    expect(viaIndex.indexHealth.data.notIndexed).toEqual([]);
    expect(viaIndex.indexHealth.data.incompletelyIndexed?.count).toBe(0);
  });
});
