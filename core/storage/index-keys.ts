/**
 * The index attributes a CURRENT item carries. Deleted resources carry none, so no index
 * partition that search reads can hold a deleted or superseded version.
 */
import type { Reference, Resource } from '@medplum/fhirtypes';
import type { TenantId } from '../tenant.js';
import { gsi1Attribute, gsi2PatientCompartment, gsi3TypeByLastUpdated } from './keys.js';

export const PATIENT_BY_NAME = 'PATIENT_BY_NAME';

export function currentIndexKeys(tenant: TenantId, resource: Resource, lastUpdated: string): Record<string, string> {
  const id = resource.id as string;
  const patientId = compartmentPatientId(resource);
  const nameKey = resource.resourceType === 'Patient' ? patientNameKey(resource) : undefined;
  return {
    ...gsi3TypeByLastUpdated(tenant, resource.resourceType, lastUpdated, id),
    ...(patientId ? gsi2PatientCompartment(tenant, patientId, resource.resourceType, lastUpdated, id) : {}),
    ...(nameKey ? gsi1Attribute(tenant, PATIENT_BY_NAME, nameKey, id) : {}),
  };
}

/** The patient whose compartment the resource is in, through its `subject` or `patient` reference. */
function compartmentPatientId(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') {
    return resource.id;
  }
  const { subject, patient } = resource as { subject?: Reference; patient?: Reference };
  for (const reference of [subject?.reference, patient?.reference]) {
    const match = reference?.match(/(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/);
    if (match) {
      return match[1];
    }
  }
  return undefined;
}

/** `family#given`, lower case without accents, from the first name: the GSI1 sort prefix. */
function patientNameKey(patient: Resource & { resourceType: 'Patient' }): string | undefined {
  const name = patient.name?.[0];
  if (!name?.family && !name?.given?.length) {
    return undefined;
  }
  return [name.family ?? '', (name.given ?? []).join(' ')].map(normalizeForIndex).join('#');
}

export function normalizeForIndex(value: string): string {
  return value.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();
}
