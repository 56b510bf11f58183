/**
 * Every live resource behind the keys of index partitions, for the DynamoDB search engine: a
 * type (GSI3), patients' compartments (GSI2), lookup values (GSI1). The keys are read page by
 * page until `limit` distinct resources are exceeded; the resources themselves are then read
 * through the repository, strongly consistently and with its transaction markers settled: a
 * resource in an open transaction is found by its old index keys (CURRENT, old lookup items)
 * and its staged ones (STAGED, new lookup items) alike, and shows whichever version its
 * transaction's status makes current.
 */
import type { TenantId } from '../tenant.js';
import { MULTI_PATIENT, gsi1LookupOverflowPartition, gsi1LookupPartition, gsi2PatientPartition, gsi3TypePartition, parseResourcePK } from './keys.js';
import { queryPages } from './paginate.js';
import type { ResourceRepository, ResourceVersion } from './repository.js';

/** The resources found; none, and `truncated`, when there were more than the limit. */
export interface ScanResult {
  readonly items: ResourceVersion[];
  readonly truncated: boolean;
}

interface PartitionQuery {
  readonly partition: string;
  /** Narrows the partition to the sort keys starting with this. */
  readonly sortKeyPrefix?: string;
}

export class IndexScans {
  constructor(private readonly repository: ResourceRepository) {}

  /** Every live resource of a type (GSI3). */
  async scanType(tenant: TenantId, resourceType: string, limit: number): Promise<ScanResult> {
    return this.scan(tenant, 'GSI3', [{ partition: gsi3TypePartition(tenant, resourceType) }], limit);
  }

  /** Live resources of a type in these patients' compartments (GSI2), including the multi-patient partition. */
  async scanCompartments(tenant: TenantId, patientIds: readonly string[], resourceType: string, limit: number): Promise<ScanResult> {
    const partitions = [...new Set([...patientIds, MULTI_PATIENT])].map((patientId) => ({ partition: gsi2PatientPartition(tenant, patientId, resourceType) }));
    return this.scan(tenant, 'GSI2', partitions, limit);
  }

  /**
   * Live resources of a type having one of these token values for a lookup parameter (GSI1);
   * `system` undefined: any system, '': none. The type's overflow partition is read as well.
   */
  async scanLookups(tenant: TenantId, resourceType: string, param: string, values: readonly { system?: string; code: string }[], limit: number): Promise<ScanResult> {
    const queries = values.map(({ system, code }) => ({
      partition: gsi1LookupPartition(tenant, resourceType, param, code),
      sortKeyPrefix: system === undefined ? undefined : `${system}#`,
    }));
    return this.scan(tenant, 'GSI1', [...queries, { partition: gsi1LookupOverflowPartition(tenant, resourceType) }], limit);
  }

  private async scan(tenant: TenantId, indexName: 'GSI1' | 'GSI2' | 'GSI3', queries: readonly PartitionQuery[], limit: number): Promise<ScanResult> {
    const resources = new Map<string, { resourceType: string; id: string }>();
    for (const { partition, sortKeyPrefix } of queries) {
      const keys = queryPages(
        this.repository.client,
        {
          TableName: this.repository.tableName,
          IndexName: indexName,
          KeyConditionExpression: sortKeyPrefix === undefined ? `${indexName}PK = :pk` : `${indexName}PK = :pk AND begins_with(${indexName}SK, :prefix)`,
          ExpressionAttributeValues: { ':pk': partition, ...(sortKeyPrefix === undefined ? {} : { ':prefix': sortKeyPrefix }) },
          ScanIndexForward: false,
        },
        // One resource past the limit is enough to refuse; a resource may have several keys in a partition.
        { limit: () => limit + 1 - resources.size },
      );
      for await (const page of keys) {
        for (const item of page.Items ?? []) {
          const key = parseResourcePK(String(item.PK));
          if (key) {
            resources.set(String(item.PK), key);
          }
        }
      }
    }
    if (resources.size > limit) {
      // The caller refuses the query: reading the bodies would only make the refusal expensive.
      return { items: [], truncated: true };
    }
    return { items: await this.repository.readCurrentMany(tenant, [...resources.values()]), truncated: false };
  }
}
