/**
 * Patient compartment membership (R4 CompartmentDefinition/patient): the patients a resource
 * belongs to through the compartment's parameters for its type. A Patient is in its own.
 */
import type { Resource } from '@medplum/fhirtypes';
import { referencedKeys } from './extract.js';
import { patientCompartmentParameters, searchParameter } from './search-parameters.js';

export function compartmentPatients(resource: Resource): string[] {
  const patients = new Set<string>(resource.resourceType === 'Patient' && resource.id ? [resource.id] : []);
  for (const code of patientCompartmentParameters(resource.resourceType)) {
    const param = searchParameter(resource.resourceType, code);
    for (const key of param ? referencedKeys(resource, param) : []) {
      if (key.startsWith('Patient/')) {
        patients.add(key.slice('Patient/'.length));
      }
    }
  }
  return [...patients];
}
