/**
 * The figures of the DynamoDB-only path: computed in this process from every live resource of
 * the tenant (table-resources.ts), with the values the search index would hold for the same
 * parameters (core/r4/extract.ts), so that both paths count the same things.
 */
import type { Resource } from '@medplum/fhirtypes';
import { extractValues } from '../r4/extract.js';
import { searchParameter } from '../r4/search-parameters.js';
import type { IndexValue } from '../r4/search-types.js';
import { displayOf, PARAMS, UNKNOWN } from './codes.js';
import { ageBandOf, type BirthRange, birthRanges, isRealInstant, monthOf, UNKNOWN_AGE, weekOf } from './periods.js';
import type { CodeCount, TenantFigures } from './report.js';
import { canonicalFigures } from './report.js';

type Param = (typeof PARAMS)[keyof typeof PARAMS];

function valuesOf(resource: Resource, { resourceType, code }: Param): IndexValue[] {
  const definition = searchParameter(resourceType, code);
  if (!definition) {
    throw new Error(`No search parameter ${resourceType}.${code}`);
  }
  return extractValues(resource, definition);
}

function tokens(resource: Resource, param: Param): { system?: string; code: string }[] {
  return valuesOf(resource, param).flatMap((value) => (value.type === 'token' && value.code !== undefined ? [{ system: value.system, code: value.code }] : []));
}

function dateStarts(resource: Resource, param: Param): number[] {
  return valuesOf(resource, param).flatMap((value) => (value.type === 'date' && isRealInstant(value.start) ? [value.start] : []));
}

class Counter extends Map<string, number> {
  add(key: string): void {
    this.set(key, (this.get(key) ?? 0) + 1);
  }
}

/** Counts of codes, each remembering the display of the first resource (by `Type/id`) carrying it. */
class CodeCounter {
  private readonly codes = new Map<string, { system?: string; code: string; count: number; firstRef: string; display?: string }>();

  add(resource: Resource, found: readonly { system?: string; code: string }[]): void {
    const ref = `${resource.resourceType}/${resource.id}`;
    const distinct = new Map(found.map((token) => [JSON.stringify([token.system ?? '', token.code]), token]));
    for (const [key, { system, code }] of distinct) {
      const entry = this.codes.get(key);
      if (!entry) {
        this.codes.set(key, { system, code, count: 1, firstRef: ref, display: displayOf(resource, system, code) });
      } else {
        entry.count++;
        if (ref < entry.firstRef) {
          entry.firstRef = ref;
          entry.display = displayOf(resource, system, code);
        }
      }
    }
  }

  list(): CodeCount[] {
    return [...this.codes.values()].map(({ system, code, count, display }) => ({ ...(system ? { system } : {}), code, ...(display ? { display } : {}), count }));
  }
}

const split = (key: string): [string, string] => JSON.parse(key) as [string, string];

export class TableFigures {
  private readonly types = new Counter();
  private readonly months = new Counter();
  private readonly weeks = new Counter();
  private readonly ageGender = new Counter();
  private readonly encounters = new Counter();
  private readonly conditions = new CodeCounter();
  private readonly observations = new CodeCounter();
  private readonly bands: readonly BirthRange[];

  constructor(asOf: string) {
    this.bands = birthRanges(asOf);
  }

  add(resource: Resource): void {
    const { resourceType } = resource;
    this.types.add(resourceType);
    const lastUpdated = resource.meta?.lastUpdated ? Date.parse(resource.meta.lastUpdated) : undefined;
    if (lastUpdated !== undefined) {
      this.months.add(JSON.stringify([resourceType, monthOf(lastUpdated)]));
      this.weeks.add(JSON.stringify([resourceType, weekOf(lastUpdated)]));
    }
    switch (resourceType) {
      case 'Patient': {
        const gender = tokens(resource, PARAMS.patientGender)[0]?.code ?? UNKNOWN;
        const birth = dateStarts(resource, PARAMS.patientBirthDate)[0];
        this.ageGender.add(JSON.stringify([birth === undefined ? UNKNOWN_AGE : ageBandOf(birth, this.bands), gender]));
        break;
      }
      case 'Encounter': {
        const classes = new Set(tokens(resource, PARAMS.encounterClass).map((token) => token.code));
        const months = new Set(dateStarts(resource, PARAMS.encounterDate).map(monthOf));
        for (const month of months) {
          for (const encounterClass of classes) {
            this.encounters.add(JSON.stringify([month, encounterClass]));
          }
        }
        break;
      }
      case 'Condition':
        this.conditions.add(resource, tokens(resource, PARAMS.conditionCode));
        break;
      case 'Observation':
        this.observations.add(resource, tokens(resource, PARAMS.observationCode));
        break;
    }
  }

  figures(): TenantFigures {
    const periods = (counter: Counter) =>
      [...counter].map(([key, count]) => {
        const [resourceType, period] = split(key);
        return { resourceType, period, count };
      });
    return canonicalFigures({
      resourcesByType: [...this.types].map(([resourceType, count]) => ({ resourceType, count })),
      updatedPerMonth: periods(this.months),
      updatedPerWeek: periods(this.weeks),
      patientsByAgeGender: [...this.ageGender].map(([key, count]) => {
        const [ageBand, gender] = split(key);
        return { ageBand, gender, count };
      }),
      encountersByMonth: [...this.encounters].map(([key, count]) => {
        const [month, encounterClass] = split(key);
        return { month, class: encounterClass, count };
      }),
      topConditions: this.conditions.list(),
      topObservationCodes: this.observations.list(),
    });
  }
}
