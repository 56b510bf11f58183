/**
 * The index attributes a CURRENT item carries. Deleted resources carry none, so no index
 * partition that search reads can hold a deleted or superseded version.
 *
 * GSI2 holds a resource under the patient whose compartment it is in. The rare resource in
 * several patients' compartments (say, an Observation whose performer is another patient) goes
 * under the tenant's MULTI partition for its type instead, which every compartment query also
 * reads; so a compartment query's candidates always contain all its matches.
 *
 * GSI1 holds lookup items: one per identifier or code value, partitioned by type, parameter and
 * code, so `identifier=system|value` and `code=system|code` read just their partition.
 */
import type { Resource } from '@medplum/fhirtypes';
import { compartmentPatients } from '../r4/compartment.js';
import { extractValues } from '../r4/extract.js';
import { searchParameter } from '../r4/search-parameters.js';
import type { TenantId } from '../tenant.js';
import { gsi1Lookup, gsi2PatientCompartment, gsi3TypeByLastUpdated, lookupSK, MULTI_PATIENT } from './keys.js';

export function currentIndexKeys(tenant: TenantId, resource: Resource, lastUpdated: string): Record<string, string> {
  const id = resource.id as string;
  const patients = compartmentPatients(resource);
  const compartment = patients.length === 1 ? patients[0] : patients.length > 1 ? MULTI_PATIENT : undefined;
  return {
    ...gsi3TypeByLastUpdated(tenant, resource.resourceType, lastUpdated, id),
    ...(compartment ? gsi2PatientCompartment(tenant, compartment, resource.resourceType, lastUpdated, id) : {}),
  };
}

/** Token parameters answered through GSI1 lookup items. */
export const LOOKUP_PARAMETERS = ['identifier', 'code'] as const;

/** Lookup items per resource, so a write stays far inside TransactWriteItems' 100 items. */
const MAX_LOOKUPS = 40;
/** Values longer than this are not looked up (GSI1 partition keys stop at 2 KB): the resource overflows. */
const MAX_LOOKUP_TEXT = 256;

export interface LookupItem {
  readonly SK: string;
  readonly GSI1PK: string;
  readonly GSI1SK: string;
}

/**
 * The lookup items of a resource: one per distinct (parameter, system, code) of its lookup
 * parameters. Beyond `MAX_LOOKUPS`, or for an oversized value, the resource overflows: it
 * carries none and sits in its type's overflow partition instead, which lookups always read.
 */
export function lookupItems(tenant: TenantId, resource: Resource): { items: LookupItem[]; overflow: boolean } {
  const items = new Map<string, LookupItem>();
  let overflow = false;
  for (const code of LOOKUP_PARAMETERS) {
    const param = searchParameter(resource.resourceType, code);
    if (param?.type !== 'token') {
      continue;
    }
    for (const value of extractValues(resource, param)) {
      if (value.type !== 'token' || value.code === undefined) {
        continue;
      }
      if (value.code.length > MAX_LOOKUP_TEXT || (value.system?.length ?? 0) > MAX_LOOKUP_TEXT) {
        overflow = true;
        continue;
      }
      const SK = lookupSK(code, value.system, value.code);
      items.set(SK, { SK, ...gsi1Lookup(tenant, resource.resourceType, code, value.system, value.code, resource.id as string) });
    }
  }
  return items.size > MAX_LOOKUPS || overflow ? { items: [], overflow: true } : { items: [...items.values()], overflow: false };
}
