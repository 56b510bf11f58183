/**
 * Lazy access to the R4 SearchParameters generated per resource type by
 * `scripts/build-definitions.ts`: a request reads only the parameters of the types it searches
 * (Observation's are 9 KB of the 450 KB for all 146 types).
 */
import { join } from 'node:path';
import { isResourceType, readDefinitionsJson } from './definitions.js';
import type { SearchParameterDefinition } from './search-types.js';

/** File names inside the definitions directory: the contract between the build and this loader. */
export const SEARCH_DEFINITION_FILES = {
  parameters: (resourceType: string): string => join('search', `${resourceType}.json`),
  patientCompartment: 'compartment-patient.json',
} as const;

const parametersByType = new Map<string, ReadonlyMap<string, SearchParameterDefinition>>();
let patientCompartment: Readonly<Record<string, readonly string[]>> | undefined;

/** `resourceType`'s parameters by code, the Resource-level ones (`_id`, `_lastUpdated`, …) included. Callers check `isResourceType` first. */
export function searchParameters(resourceType: string): ReadonlyMap<string, SearchParameterDefinition> {
  let parameters = parametersByType.get(resourceType);
  if (!parameters) {
    if (!isResourceType(resourceType)) {
      throw new Error(`Not an R4 resource type: ${resourceType}`);
    }
    const definitions = readDefinitionsJson<SearchParameterDefinition[]>(SEARCH_DEFINITION_FILES.parameters(resourceType));
    parameters = new Map(definitions.map((definition) => [definition.code, definition]));
    parametersByType.set(resourceType, parameters);
  }
  return parameters;
}

export function searchParameter(resourceType: string, code: string): SearchParameterDefinition | undefined {
  return searchParameters(resourceType).get(code);
}

/** The reference parameters through which a `resourceType` resource belongs to a Patient's compartment; empty when it never does. */
export function patientCompartmentParameters(resourceType: string): readonly string[] {
  patientCompartment ??= readDefinitionsJson<Record<string, string[]>>(SEARCH_DEFINITION_FILES.patientCompartment);
  return patientCompartment[resourceType] ?? [];
}
