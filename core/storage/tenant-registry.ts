/**
 * Which tenants hold data: one item per tenant in the `TENANTS` partition (keys.ts), upserted by
 * the stream processor for the tenants of each batch and read by scheduled jobs (analytics) with
 * one Query, because the table has no other list of tenants short of a whole-table scan.
 *
 * The upsert keeps the first time a tenant was seen (`if_not_exists`), so repeating it is
 * harmless and never conditional-fails; a process registers each tenant once (the set below),
 * so a busy tenant costs one write per stream-processor container, not one per batch.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantId } from '../tenant.js';
import { parseTenantRegistrySK, TENANTS_PK, tenantRegistrySK } from './keys.js';
import { queryPages } from './paginate.js';
import type { ResourceRepository } from './repository.js';

export class TenantRegistry {
  private readonly registered = new Set<TenantId>();

  constructor(private readonly repository: Pick<ResourceRepository, 'client' | 'tableName'>) {}

  /** Records these tenants (those this process has not recorded yet); safe to repeat. */
  async register(tenants: Iterable<TenantId>, now = new Date().toISOString()): Promise<void> {
    const fresh = [...new Set(tenants)].filter((tenant) => !this.registered.has(tenant));
    await Promise.all(
      fresh.map(async (tenant) => {
        await this.repository.client.send(
          new UpdateCommand({
            TableName: this.repository.tableName,
            Key: { PK: TENANTS_PK, SK: tenantRegistrySK(tenant) },
            UpdateExpression: 'SET firstSeen = if_not_exists(firstSeen, :now)',
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        this.registered.add(tenant);
      }),
    );
  }

  /** Every registered tenant, in key order. */
  async tenants(): Promise<TenantId[]> {
    const tenants: TenantId[] = [];
    const pages = queryPages(this.repository.client, {
      TableName: this.repository.tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': TENANTS_PK },
      ProjectionExpression: 'SK',
    });
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const tenant = parseTenantRegistrySK(String(item.SK));
        if (tenant) {
          tenants.push(tenant);
        }
      }
    }
    return tenants;
  }
}
