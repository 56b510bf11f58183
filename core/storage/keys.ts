/**
 * The one module that builds DynamoDB keys. Nothing else concatenates `TENANT#…`.
 *
 * Items of one resource share a partition:
 *   PK = TENANT#{tenant}#RESOURCE#{type}#{id}
 *   SK = CURRENT            the current version (body + index keys); what read and search see
 *   SK = VERSION#{n}        one immutable item per version, zero-padded so they sort numerically
 *
 * Index keys are written on CURRENT items only (search partitions) and on VERSION items only
 * under HISTORY partitions, so a search partition never holds a superseded or deleted version.
 *   SK = LOOKUP#{param}#{hash} one small item per indexed token value (identifier, code), which
 *                          carries the GSI1 keys: a resource has several identifiers or codings,
 *                          and an item has one GSI1 key.
 *   SK = STAGED            while a large transaction is open on the resource: the index keys its
 *                          staged version will have (transaction-log.ts)
 *
 * A large transaction has its own partition (no hot partition):
 *   PK = TENANT#{tenant}#TRANSACTION#{txId}   SK = TRANSACTION   its status: small, read by readers
 *                                             SK = RESOURCES     the resources it writes
 *
 * A Bulk Data export (core/export/) has its own partition: the job and its chunks, read together
 * by a status poll, removed together by a cancel:
 *   PK = TENANT#{tenant}#EXPORT#{exportId}    SK = JOB          request, status, counters
 *                                             SK = CHUNK#{n}    one unit of work: what it reads, its cursor, its files
 *
 * Recent changes (recent-changes.ts), the strongly consistent overlay that searches merge until
 * the GSIs and the search index have caught up with a write; one item per recently written
 * resource, in one of a few shards per tenant and type so a busy type has no hot partition:
 *   PK = TENANT#{tenant}#RECENT#{type}#{shard}   SK = {id}
 *
 * The tenant registry (tenant-registry.ts): one item per tenant that has written anything, so a
 * scheduled job lists the tenants with one Query instead of scanning the table:
 *   PK = TENANTS   SK = TENANT#{tenant}
 *
 * Audit records (AuditEvents of reads and writes), one partition per tenant, UTC day and shard,
 * in time order, so "tenant X between T1 and T2" reads only the partitions of those days:
 *   PK = TENANT#{tenant}#AUDIT#{yyyy-mm-dd}#{shard}   SK = {recorded}#{eventId}
 */
import { createHash } from 'node:crypto';
import type { TenantId } from '../tenant.js';

const VERSION_DIGITS = 12;

export const CURRENT_SK = 'CURRENT';
export const VERSION_SK_PREFIX = 'VERSION#';

export function resourcePK(tenant: TenantId, resourceType: string, id: string): string {
  return `${resourcePKPrefix(tenant)}${resourceType}#${id}`;
}

/** What every resource partition key of a tenant starts with. */
export function resourcePKPrefix(tenant: TenantId): string {
  return `TENANT#${tenant}#RESOURCE#`;
}

/** The tenant, type and id of a resource partition key; undefined for every other partition. */
export function parseResourcePK(pk: string): { tenant: TenantId; resourceType: string; id: string } | undefined {
  const match = /^TENANT#([^#]+)#RESOURCE#([^#]+)#([^#]+)$/.exec(pk);
  return match ? { tenant: match[1] as TenantId, resourceType: match[2], id: match[3] } : undefined;
}

export function versionSK(version: number): string {
  return VERSION_SK_PREFIX + String(version).padStart(VERSION_DIGITS, '0');
}

export function versionFromSK(sk: string): number {
  return Number(sk.slice(VERSION_SK_PREFIX.length));
}

/** The item holding a staged version's index keys until its transaction is finalized or rolled back. */
export const STAGED_SK = 'STAGED';

export function transactionPK(tenant: TenantId, txId: string): string {
  return `TENANT#${tenant}#TRANSACTION#${txId}`;
}

/** The tenant of a transaction partition key; undefined for every other partition. */
export function parseTransactionPK(pk: string): { tenant: TenantId } | undefined {
  const match = /^TENANT#([^#]+)#TRANSACTION#[^#]+$/.exec(pk);
  return match ? { tenant: match[1] as TenantId } : undefined;
}

export const TRANSACTION_SK = 'TRANSACTION';
export const TRANSACTION_RESOURCES_SK = 'RESOURCES';

/**
 * Shards of a type's recent changes: each takes ~1,000 writes/s (an item is put by the write,
 * marked indexed and deleted by the stream processor: 3 writes per change), and a search reads all
 * of them.
 */
export const RECENT_CHANGE_SHARDS = 4;

export function recentChangesPK(tenant: TenantId, resourceType: string, shard: number): string {
  return `TENANT#${tenant}#RECENT#${resourceType}#${shard}`;
}

/** The recent-change item of one resource: its shard follows from its id. */
export function recentChangeKey(tenant: TenantId, resourceType: string, id: string): { PK: string; SK: string } {
  const shard = createHash('sha256').update(id).digest().readUInt32BE(0) % RECENT_CHANGE_SHARDS;
  return { PK: recentChangesPK(tenant, resourceType, shard), SK: id };
}

/** GSI3 on CURRENT items: every live resource of a type, ordered by lastUpdated. */
export function gsi3TypeByLastUpdated(tenant: TenantId, resourceType: string, lastUpdated: string, id: string) {
  return { GSI3PK: gsi3TypePartition(tenant, resourceType), GSI3SK: `${lastUpdated}#${id}` };
}

export function gsi3TypePartition(tenant: TenantId, resourceType: string): string {
  return `TENANT#${tenant}#RESOURCE_TYPE#${resourceType}`;
}

/** GSI3 on VERSION items: the type's history, every version, ordered by time. */
export function gsi3TypeHistory(tenant: TenantId, resourceType: string, lastUpdated: string, id: string, version: number) {
  return { GSI3PK: gsi3HistoryPartition(tenant, resourceType), GSI3SK: `${lastUpdated}#${id}#${version}` };
}

export function gsi3HistoryPartition(tenant: TenantId, resourceType: string): string {
  return `TENANT#${tenant}#HISTORY#${resourceType}`;
}

/** GSI3 on transaction records: a tenant's open transactions by deadline, for the sweep that finishes abandoned ones. */
export function gsi3OpenTransaction(tenant: TenantId, deadline: string, txId: string) {
  return { GSI3PK: gsi3OpenTransactionsPartition(tenant), GSI3SK: `${deadline}#${txId}` };
}

export function gsi3OpenTransactionsPartition(tenant: TenantId): string {
  return `TENANT#${tenant}#OPEN_TRANSACTIONS`;
}

/** GSI2 partition of resources in several patients' compartments (`*` is not an id character). */
export const MULTI_PATIENT = '*MULTI*';

/** GSI2 on CURRENT items: resources of one type in one patient's compartment, by time. */
export function gsi2PatientCompartment(tenant: TenantId, patientId: string, resourceType: string, lastUpdated: string, id: string) {
  return { GSI2PK: gsi2PatientPartition(tenant, patientId, resourceType), GSI2SK: `${lastUpdated}#${id}` };
}

export function gsi2PatientPartition(tenant: TenantId, patientId: string, resourceType: string): string {
  return `TENANT#${tenant}#PATIENT#${patientId}#${resourceType}`;
}

/** The lookup item of one token value of one parameter, in the resource's partition. */
export function lookupSK(param: string, system: string | undefined, code: string): string {
  const digest = createHash('sha256').update(`${system ?? ''}|${code}`).digest('base64url').slice(0, 22);
  return `LOOKUP#${param}#${digest}`;
}

export const LOOKUP_SK_PREFIX = 'LOOKUP#';

/** GSI1 on lookup items: resources of a type by one token value (`code`), then by system. */
export function gsi1Lookup(tenant: TenantId, resourceType: string, param: string, system: string | undefined, code: string, id: string) {
  return { GSI1PK: gsi1LookupPartition(tenant, resourceType, param, code), GSI1SK: `${system ?? ''}#${id}` };
}

export function gsi1LookupPartition(tenant: TenantId, resourceType: string, param: string, code: string): string {
  return `TENANT#${tenant}#LOOKUP#${resourceType}#${param}#${code}`;
}

/** GSI1 on CURRENT items with more token values than lookup items: every lookup query reads it too. */
export function gsi1LookupOverflow(tenant: TenantId, resourceType: string, id: string) {
  return { GSI1PK: gsi1LookupOverflowPartition(tenant, resourceType), GSI1SK: id };
}

export function gsi1LookupOverflowPartition(tenant: TenantId, resourceType: string): string {
  return `TENANT#${tenant}#LOOKUP#${resourceType}#*OVERFLOW*`;
}

/**
 * Shards per tenant-day of audit records: one partition takes about 1,000 writes/s, so a tenant
 * can record up to ~AUDIT_SHARDS thousand audited requests per second; a time-range query reads
 * every shard of each day in parallel.
 */
export const AUDIT_SHARDS = 4;

export function auditPK(tenant: TenantId, day: string, shard: number): string {
  return `TENANT#${tenant}#AUDIT#${day}#${shard}`;
}

/** Records sort by time; the event id makes the key unique and a replayed write idempotent. */
export function auditSK(recorded: string, eventId: string): string {
  return `${recorded}#${eventId}`;
}

/** The tenant of an audit partition key; undefined for every other partition. */
export function parseAuditPK(pk: string): { tenant: TenantId } | undefined {
  const match = /^TENANT#([^#]+)#AUDIT#/.exec(pk);
  return match ? { tenant: match[1] as TenantId } : undefined;
}

export function exportPK(tenant: TenantId, exportId: string): string {
  return `TENANT#${tenant}#EXPORT#${exportId}`;
}

export const EXPORT_JOB_SK = 'JOB';
export const EXPORT_CHUNK_SK_PREFIX = 'CHUNK#';

/** Zero-padded so a job's chunks sort in plan order. */
export function exportChunkSK(index: number): string {
  return EXPORT_CHUNK_SK_PREFIX + String(index).padStart(6, '0');
}

/** The tenant registry's one partition: a few bytes per tenant, written at most once per tenant per stream batch. */
export const TENANTS_PK = 'TENANTS';

export function tenantRegistrySK(tenant: TenantId): string {
  return `TENANT#${tenant}`;
}

/** The tenant of a registry sort key; undefined for anything else. */
export function parseTenantRegistrySK(sk: string): TenantId | undefined {
  const match = /^TENANT#([^#]+)$/.exec(sk);
  return match ? (match[1] as TenantId) : undefined;
}
