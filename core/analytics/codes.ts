/**
 * Codes as the report lists them: the parameters whose values it counts (the same ones on both
 * paths: the index holds exactly what `extractValues` yields for them), and a coding's display
 * name, which the index keeps only normalized for `:text` search, read from the resource itself.
 */
import type { Resource } from '@medplum/fhirtypes';

/** Search parameters (R4 codes) the figures are made of. */
export const PARAMS = {
  patientGender: { resourceType: 'Patient', code: 'gender' },
  patientBirthDate: { resourceType: 'Patient', code: 'birthdate' },
  patientIdentifier: { resourceType: 'Patient', code: 'identifier' },
  encounterClass: { resourceType: 'Encounter', code: 'class' },
  encounterDate: { resourceType: 'Encounter', code: 'date' },
  conditionCode: { resourceType: 'Condition', code: 'code' },
  observationCode: { resourceType: 'Observation', code: 'code' },
} as const;

/** Stands for an absent gender or class. */
export const UNKNOWN = 'unknown';

/** The `display` of the first Coding in `resource` with this system and code (depth-first, document order). */
export function displayOf(resource: Resource, system: string | undefined, code: string): string | undefined {
  const stack: unknown[] = [resource];
  for (let value = stack.pop(); value !== undefined; value = stack.pop()) {
    if (Array.isArray(value)) {
      stack.push(...[...value].reverse());
    } else if (value !== null && typeof value === 'object') {
      const coding = value as { system?: unknown; code?: unknown; display?: unknown };
      if (coding.code === code && (coding.system ?? undefined) === system && typeof coding.display === 'string') {
        return coding.display;
      }
      stack.push(...Object.values(value).reverse());
    }
  }
  return undefined;
}
