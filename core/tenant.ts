import { FhirError } from './errors.js';

/** A validated tenant id: safe to embed in a DynamoDB key (no `#`), short, printable. */
export type TenantId = string & { readonly __brand: 'TenantId' };

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function parseTenantId(value: unknown): TenantId {
  if (typeof value !== 'string' || !TENANT_ID.test(value)) {
    throw FhirError.forbidden('Invalid or missing tenant id');
  }
  return value as TenantId;
}
