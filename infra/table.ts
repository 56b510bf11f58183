import { FHIR_TABLE } from '../core/storage/table-schema';
import type { DataKey } from './keys';
import type { StageSettings } from './stage';

/**
 * The FHIR table, from the one schema definition shared with the local runtime and tests. Where
 * the stage protects its data, it cannot be deleted by accident (deletion protection) and can be
 * restored to any second of the last 35 days (point-in-time recovery).
 */
export function createTable(settings: StageSettings, key: DataKey) {
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
    ttl: FHIR_TABLE.timeToLiveAttribute,
    deletionProtection: settings.protectData,
    transform: {
      table: (args) => {
        args.pointInTimeRecovery = { enabled: settings.protectData };
        if (key) {
          args.serverSideEncryption = { enabled: true, kmsKeyArn: key.arn };
        }
      },
    },
  });
}
