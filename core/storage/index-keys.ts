/**
 * The index attributes a CURRENT item carries. Deleted resources carry none, so no index
 * partition that search reads can hold a deleted or superseded version.
 *
 * GSI2 holds a resource under the patient whose compartment it is in. The rare resource in
 * several patients' compartments (say, an Observation whose performer is another patient) goes
 * under the tenant's MULTI partition for its type instead, which every compartment query also
 * reads; so a compartment query's candidates always contain all its matches.
 */
import type { Resource } from '@medplum/fhirtypes';
import { compartmentPatients } from '../search/compartment.js';
import type { TenantId } from '../tenant.js';
import { gsi2PatientCompartment, gsi3TypeByLastUpdated, MULTI_PATIENT } from './keys.js';

export function currentIndexKeys(tenant: TenantId, resource: Resource, lastUpdated: string): Record<string, string> {
  const id = resource.id as string;
  const patients = compartmentPatients(resource);
  const compartment = patients.length === 1 ? patients[0] : patients.length > 1 ? MULTI_PATIENT : undefined;
  return {
    ...gsi3TypeByLastUpdated(tenant, resource.resourceType, lastUpdated, id),
    ...(compartment ? gsi2PatientCompartment(tenant, compartment, resource.resourceType, lastUpdated, id) : {}),
  };
}
