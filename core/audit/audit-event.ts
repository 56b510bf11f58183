/**
 * The FHIR R4 AuditEvent recorded for every interaction with patient data: writes (from the
 * table's stream, one per new version) and reads, vreads, searches and history (by the handler
 * that served them). One builder, so every AuditEvent has the same shape whoever records it.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { TenantId } from '../tenant.js';

/** FHIR restful interactions (http://hl7.org/fhir/restful-interaction) we audit. */
export type AuditedInteraction =
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'read'
  | 'vread'
  | 'search-type'
  | 'search-system'
  | 'history-instance'
  | 'history-type'
  | 'transaction'
  | 'batch'
  | 'operation';

/** AuditEvent.action: C R U D E. */
const ACTIONS: Record<AuditedInteraction, NonNullable<AuditEvent['action']>> = {
  create: 'C',
  update: 'U',
  patch: 'U',
  delete: 'D',
  read: 'R',
  vread: 'R',
  'search-type': 'E',
  'search-system': 'E',
  'history-instance': 'R',
  'history-type': 'E',
  transaction: 'E',
  batch: 'E',
  operation: 'E',
};

export interface AuditRecordInput {
  readonly id: string;
  readonly tenant: TenantId;
  readonly interaction: AuditedInteraction;
  /** When it happened: the version's lastUpdated for writes, the request time for reads. */
  readonly recorded: string;
  /** The HTTP status the caller got. */
  readonly status: number;
  readonly principal: string;
  /** `Type/id` or `Type/id/_history/n` of each resource written or returned. */
  readonly entities: readonly string[];
  /** The query of a search or history, as requested (path and query string). */
  readonly query?: string;
  readonly sourceAddress?: string;
}

/** A stable id for the audit of a write: a replayed stream record yields the same id (de-duplication). */
export function writeAuditId(tenant: TenantId, reference: string): string {
  return uuidFrom(`audit|${tenant}|${reference}`);
}

export function newAuditId(): string {
  return randomUUID();
}

/** A deterministic UUID-formatted id from `text` (SHA-256, version nibble 8: custom). */
export function uuidFrom(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** DICOM-style outcome codes of AuditEvent.outcome: 0 success, 4 minor (client) failure, 8 serious (server) failure. */
function outcomeOf(status: number): NonNullable<AuditEvent['outcome']> {
  return status < 400 ? '0' : status < 500 ? '4' : '8';
}

export function auditEvent(input: AuditRecordInput): AuditEvent {
  return {
    resourceType: 'AuditEvent',
    id: input.id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: input.interaction }],
    action: ACTIONS[input.interaction],
    recorded: input.recorded,
    outcome: outcomeOf(input.status),
    ...(input.status >= 400 ? { outcomeDesc: `HTTP ${input.status}` } : {}),
    agent: [
      {
        who: { identifier: { value: input.principal } },
        requestor: true,
        ...(input.sourceAddress ? { network: { address: input.sourceAddress, type: '2' as const } } : {}),
      },
    ],
    source: {
      // The tenant is the audited enterprise site (R4: "logical source location within the enterprise").
      site: input.tenant,
      observer: { display: 'fhir-serverless' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '3', display: 'Web Server' }],
    },
    // The query first: a search's entities are what it asked, then what it returned.
    entity: [
      ...(input.query === undefined
        ? []
        : [
            {
              type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
              role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
              query: Buffer.from(input.query).toString('base64'),
            },
          ]),
      ...input.entities.map((reference) => ({
        what: { reference },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      })),
    ],
  };
}
