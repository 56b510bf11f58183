/**
 * Where an export's files live in the bucket: one folder per resource type, then Hive-style
 * partitions per tenant and export, so an Athena/Glue table per type (location `s3://bucket/Observation/`)
 * reads every tenant's exports and prunes by `tenant` and `export` (docs/export.md):
 *
 *   {type}/tenant={tenant}/export={exportId}/part-{chunk}-{part}.ndjson
 *
 * A file's name is fixed by its chunk and part number, so a chunk resumed after a crash rewrites
 * the very file it was writing instead of leaving a stray copy beside it.
 */
import type { TenantId } from '../tenant.js';

export function exportTypePrefix(resourceType: string, tenant: TenantId, exportId: string): string {
  return `${resourceType}/tenant=${tenant}/export=${exportId}/`;
}

export function exportFileKey(resourceType: string, tenant: TenantId, exportId: string, chunk: number, part: number): string {
  return `${exportTypePrefix(resourceType, tenant, exportId)}part-${String(chunk).padStart(6, '0')}-${String(part).padStart(5, '0')}.ndjson`;
}
