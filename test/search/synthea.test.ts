/**
 * Realistic searches over the 33 Synthea patients (about 6,700 resources) in a fresh tenant.
 * Each expected answer is computed here, in plain TypeScript over the same JSON (the oracle in
 * `synthea.ts`), never read back from the server; the server's answer must equal it exactly,
 * across every page.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { useLocalApi } from '../support/local-api.js';
import { duplicates, keyOf, readPages, searchPath } from './conformance.js';
import { dateMatches, dateRange, hasCoding, loadSynthea, nameParts, periodRange, putVia, referencedId, startsWith } from './synthea.js';
import { syntheaResources } from '../../scripts/load/synthea.js';

const api = useLocalApi();
const tenant = `synthea-${randomUUID().slice(0, 8)}`;
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
/** Large enough pages to keep the test quick, small enough that most answers span several. */
const PAGE = 100;

let resources: Resource[] = [];

function ofType(resourceType: string): any[] {
  return resources.filter((resource) => resource.resourceType === resourceType);
}

function patientByFamily(family: string): any {
  const [patient, ...others] = ofType('Patient').filter((candidate) => candidate.name.some((name: any) => name.family === family));
  expect(patient, `a Synthea patient named ${family}`).toBeDefined();
  expect(others, `one Synthea patient named ${family}`).toEqual([]);
  return patient;
}

interface Answer {
  readonly matches: string[];
  readonly included: string[];
  readonly total: number | undefined;
}

/** Runs the search and follows every `next` link; match ids in the order served. */
async function search(query: string): Promise<Answer> {
  const pages = await readPages(api, tenant, await api.request('GET', searchPath(query), { tenant }));
  const matches = pages.flatMap((page) => page.matches);
  const included = pages.flatMap((page) => page.included);
  expect(duplicates([...matches, ...included].map(keyOf)), 'resources served more than once').toEqual([]);
  return { matches: matches.map((resource) => resource.id), included: included.map(keyOf), total: pages[0]!.bundle.total };
}

function ids(expected: readonly any[]): string[] {
  return expected.map((resource) => resource.id).sort();
}

/**
 * A threshold near `near`, written with `decimals` decimals, with no value within half a unit of
 * its last digit: every reading of gt/lt/ge/le on values with implied precision
 * (search.html#prefix) then gives the same answer, a plain comparison.
 */
function clearThreshold(values: readonly number[], near: number, decimals = 1): string {
  const step = 10 ** -decimals;
  for (let offset = 0; offset < 1000; offset++) {
    for (const candidate of [near + offset * step, near - offset * step]) {
      if (values.every((value) => Math.abs(value - candidate) > step / 2)) {
        return candidate.toFixed(decimals);
      }
    }
  }
  throw new Error(`No clear threshold near ${near}`);
}

describe('Synthea R4 sample', () => {
  beforeAll(async () => {
    resources = await syntheaResources();
    await loadSynthea(resources, putVia(api, tenant), 8);
  }, 600_000);

  it('holds every resource of every Bundle', async () => {
    for (const type of ['Patient', 'Observation', 'Encounter', 'Condition', 'Organization']) {
      const { total } = await search(`${type}?_summary=count`);
      expect(total, type).toBe(ofType(type).length);
    }
  });

  describe('patients', () => {
    it('by gender', async () => {
      const expected = ofType('Patient').filter((patient) => patient.gender === 'female');
      expect((await search(`Patient?gender=female&_count=${PAGE}`)).matches.sort()).toEqual(ids(expected));
    });

    it('by family name, shared by two patients', async () => {
      const expected = ofType('Patient').filter((patient) => startsWith(patient.name.map((name: any) => name.family), 'Schamberger'));
      expect(expected).toHaveLength(2);
      expect((await search('Patient?family=schamberger')).matches.sort()).toEqual(ids(expected));
    });

    it('by name, accent-insensitive, on a maiden name', async () => {
      const expected = ofType('Patient').filter((patient) => startsWith(nameParts(patient), 'concepcion'));
      expect(expected).toHaveLength(1);
      expect((await search('Patient?name=concepcion')).matches.sort()).toEqual(ids(expected));
    });

    it('by a birth date interval', async () => {
      const [from, to] = [dateRange('1990-01-01'), dateRange('2000-01-01')];
      const expected = ofType('Patient').filter((patient) => dateMatches('ge', dateRange(patient.birthDate), from) && dateMatches('lt', dateRange(patient.birthDate), to));
      expect(expected.length).toBeGreaterThan(0);
      expect((await search('Patient?birthdate=ge1990-01-01&birthdate=lt2000-01-01')).matches.sort()).toEqual(ids(expected));
    });

    it('born before a year', async () => {
      const expected = ofType('Patient').filter((patient) => dateMatches('lt', dateRange(patient.birthDate), dateRange('1950')));
      expect(expected.length).toBeGreaterThan(0);
      expect((await search('Patient?birthdate=lt1950')).matches.sort()).toEqual(ids(expected));
    });

    it('by city', async () => {
      const expected = ofType('Patient').filter((patient) => startsWith((patient.address ?? []).map((address: any) => address.city ?? ''), 'boston'));
      expect(expected.length).toBeGreaterThan(1);
      expect((await search('Patient?address-city=boston')).matches.sort()).toEqual(ids(expected));
    });

    it('deceased', async () => {
      const expected = ofType('Patient').filter((patient) => patient.deceasedDateTime !== undefined);
      expect(expected.length).toBeGreaterThan(0);
      expect((await search('Patient?deceased=true')).matches.sort()).toEqual(ids(expected));
    });

    it('sorted by birth date, across pages', async () => {
      const expected = ofType('Patient')
        .map((patient) => ({ id: patient.id as string, start: dateRange(patient.birthDate)[0] }))
        .sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1))
        .map((patient) => patient.id);
      expect((await search('Patient?_sort=birthdate,_id&_count=10')).matches).toEqual(expected);
    });
  });

  describe('observations', () => {
    it('by system|code, across pages', async () => {
      const expected = ofType('Observation').filter((observation) => hasCoding(observation.code, LOINC, '8302-2'));
      expect(expected.length).toBeGreaterThan(PAGE);
      expect((await search(`Observation?code=${LOINC}|8302-2&_count=${PAGE}`)).matches.sort()).toEqual(ids(expected));
    });

    it('by code and a value-quantity range with units', async () => {
      const weights = ofType('Observation').filter((observation) => hasCoding(observation.code, LOINC, '29463-7'));
      const threshold = clearThreshold(
        weights.map((observation) => observation.valueQuantity.value),
        80,
      );
      const expected = weights.filter((observation) => observation.valueQuantity.value > Number(threshold) && observation.valueQuantity.code === 'kg');
      expect(expected.length).toBeGreaterThan(0);
      const answer = await search(`Observation?code=${LOINC}|29463-7&value-quantity=gt${threshold}|${UCUM}|kg&_count=${PAGE}`);
      expect(answer.matches.sort()).toEqual(ids(expected));
    });

    it('by a value-quantity interval', async () => {
      const weights = ofType('Observation').filter((observation) => hasCoding(observation.code, LOINC, '29463-7'));
      const values = weights.map((observation) => observation.valueQuantity.value);
      const [low, high] = [clearThreshold(values, 20), clearThreshold(values, 30)];
      const expected = weights.filter((observation) => observation.valueQuantity.value > Number(low) && observation.valueQuantity.value < Number(high));
      expect(expected.length).toBeGreaterThan(0);
      const answer = await search(`Observation?code=${LOINC}|29463-7&value-quantity=ge${low}&value-quantity=le${high}&_count=${PAGE}`);
      expect(answer.matches.sort()).toEqual(ids(expected));
    });

    it('by a blood pressure component (composite)', async () => {
      const panels = ofType('Observation').filter((observation) => hasCoding(observation.code, LOINC, '55284-4'));
      const systolic = (observation: any): number[] => observation.component.filter((component: any) => hasCoding(component.code, LOINC, '8480-6')).map((component: any) => component.valueQuantity.value);
      const threshold = clearThreshold(panels.flatMap(systolic), 140);
      const expected = panels.filter((observation) => systolic(observation).some((value) => value > Number(threshold)));
      expect(expected.length).toBeGreaterThan(0);
      const answer = await search(`Observation?component-code-value-quantity=${LOINC}|8480-6$gt${threshold}&_count=${PAGE}`);
      expect(answer.matches.sort()).toEqual(ids(expected));
    });

    it('by code and value-concept', async () => {
      const expected = ofType('Observation').filter((observation) => hasCoding(observation.code, LOINC, '72166-2') && hasCoding(observation.valueCodeableConcept, SNOMED, '8517006'));
      expect(expected.length).toBeGreaterThan(0);
      expect((await search(`Observation?code=${LOINC}|72166-2&value-concept=${SNOMED}|8517006&_count=${PAGE}`)).matches.sort()).toEqual(ids(expected));
    });

    it('counted with _summary=count', async () => {
      const expected = ofType('Observation').filter((observation) => hasCoding(observation.code, LOINC, '72166-2'));
      const answer = await search(`Observation?code=${LOINC}|72166-2&_summary=count`);
      expect(answer.total).toBe(expected.length);
      expect(answer.matches).toEqual([]);
    });

    it("of one patient, newest first", async () => {
      const patient = patientByFamily('Skiles');
      const expected = ofType('Observation')
        .filter((observation) => referencedId(observation.subject, 'Patient') === patient.id && hasCoding(observation.code, LOINC, '8302-2'))
        .map((observation) => ({ id: observation.id as string, start: dateRange(observation.effectiveDateTime)[0] }))
        .sort((a, b) => b.start - a.start || (a.id < b.id ? -1 : 1))
        .map((observation) => observation.id);
      expect(expected.length).toBeGreaterThan(1);
      expect((await search(`Observation?patient=Patient/${patient.id}&code=${LOINC}|8302-2&_sort=-date,_id`)).matches).toEqual(expected);
    });

    it('chained through the subject name', async () => {
      const patients = new Set(ofType('Patient').filter((patient) => startsWith(nameParts(patient), 'minna')).map((patient) => patient.id));
      expect(patients.size).toBe(1);
      const expected = ofType('Observation').filter((observation) => patients.has(referencedId(observation.subject, 'Patient')) && hasCoding(observation.code, LOINC, '29463-7'));
      expect(expected.length).toBeGreaterThan(0);
      expect((await search(`Observation?subject.name=minna&code=${LOINC}|29463-7`)).matches.sort()).toEqual(ids(expected));
    });
  });

  describe('encounters', () => {
    it('by a date interval (Periods overlapping it)', async () => {
      const [from, to] = [dateRange('2015-01-01'), dateRange('2016-01-01')];
      const expected = ofType('Encounter').filter((encounter) => {
        const period = periodRange(encounter.period);
        return period !== undefined && dateMatches('ge', period, from) && dateMatches('lt', period, to);
      });
      expect(expected.length).toBeGreaterThan(0);
      expect((await search(`Encounter?date=ge2015-01-01&date=lt2016-01-01&_count=${PAGE}`)).matches.sort()).toEqual(ids(expected));
    });

    it('in a patient compartment, by year', async () => {
      const patient = patientByFamily('Rippin');
      const encounters = ofType('Encounter').filter((encounter) => referencedId(encounter.subject, 'Patient') === patient.id);
      const year = encounters[Math.floor(encounters.length / 2)].period.start.slice(0, 4);
      const expected = encounters.filter((encounter) => dateMatches('eq', periodRange(encounter.period)!, dateRange(year)));
      expect(expected.length).toBeGreaterThan(0);
      expect((await search(`Patient/${patient.id}/Encounter?date=${year}`)).matches.sort()).toEqual(ids(expected));
    });

    it('with their service providers and practitioners included', async () => {
      const patient = patientByFamily('Skiles');
      const encounters = ofType('Encounter').filter((encounter) => referencedId(encounter.subject, 'Patient') === patient.id);
      const included = new Set<string>();
      for (const encounter of encounters) {
        included.add(encounter.serviceProvider.reference);
        for (const participant of encounter.participant ?? []) {
          included.add(participant.individual.reference);
        }
      }
      const answer = await search(`Encounter?patient=${patient.id}&_include=Encounter:service-provider&_include=Encounter:participant&_count=${PAGE}`);
      expect(answer.matches.sort()).toEqual(ids(encounters));
      expect(answer.included.sort()).toEqual([...included].sort());
    });
  });

  describe('conditions', () => {
    it('of a patient', async () => {
      const patient = patientByFamily('Rippin');
      const expected = ofType('Condition').filter((condition) => referencedId(condition.subject, 'Patient') === patient.id);
      expect(expected.length).toBeGreaterThan(0);
      expect((await search(`Condition?patient=Patient/${patient.id}`)).matches.sort()).toEqual(ids(expected));
    });

    it('by code', async () => {
      const expected = ofType('Condition').filter((condition) => hasCoding(condition.code, SNOMED, '444814009'));
      expect(expected.length).toBeGreaterThan(PAGE / 10);
      expect((await search(`Condition?code=${SNOMED}|444814009&_count=10`)).matches.sort()).toEqual(ids(expected));
    });

    it('patients that have one (_has)', async () => {
      const patients = new Set(ofType('Condition').filter((condition) => hasCoding(condition.code, SNOMED, '444814009')).map((condition) => referencedId(condition.subject, 'Patient')));
      const expected = ofType('Patient').filter((patient) => patients.has(patient.id));
      expect(expected.length).toBeGreaterThan(1);
      expect((await search(`Patient?_has:Condition:patient:code=${SNOMED}|444814009`)).matches.sort()).toEqual(ids(expected));
    });

    it('reverse-included with a patient, beside the encounters', async () => {
      const patient = patientByFamily('Skiles');
      const expected = [...ofType('Condition'), ...ofType('Encounter')].filter((resource) => referencedId(resource.subject, 'Patient') === patient.id).map(keyOf);
      const answer = await search(`Patient?_id=${patient.id}&_revinclude=Condition:patient&_revinclude=Encounter:patient`);
      expect(answer.matches).toEqual([patient.id]);
      expect(answer.included.sort()).toEqual(expected.sort());
    });
  });
});
