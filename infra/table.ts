import { FHIR_TABLE } from '../core/storage/table-schema';

/** The FHIR table, from the one schema definition shared with the local runtime and tests. */
export function createTable() {
  const fields: Record<string, 'string'> = { [FHIR_TABLE.partitionKey]: 'string', [FHIR_TABLE.sortKey]: 'string' };
  const globalIndexes: Record<string, { hashKey: string; rangeKey: string; projection: 'keys-only' }> = {};
  for (const index of FHIR_TABLE.globalIndexes) {
    fields[index.partitionKey] = 'string';
    fields[index.sortKey] = 'string';
    globalIndexes[index.name] = { hashKey: index.partitionKey, rangeKey: index.sortKey, projection: 'keys-only' };
  }
  return new sst.aws.Dynamo('FhirTable', {
    fields,
    primaryIndex: { hashKey: FHIR_TABLE.partitionKey, rangeKey: FHIR_TABLE.sortKey },
    globalIndexes,
    stream: 'new-and-old-images',
  });
}
