import { randomUUID } from 'node:crypto';
import { FhirError } from '../errors.js';

/** FHIR R4 `id` datatype: 1-64 of [A-Za-z0-9-.]. Also what keeps ids safe inside a DynamoDB key. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && FHIR_ID.test(value);
}

export function parseId(value: string | undefined, expression = 'id'): string {
  if (!isValidId(value)) {
    throw FhirError.badRequest(`Invalid id "${truncate(value)}": ids are 1-64 characters of A-Z, a-z, 0-9, '-' and '.'`, expression);
  }
  return value;
}

export function parseVersionId(value: string | undefined, expression = 'versionId'): number {
  if (!value || !/^[1-9][0-9]{0,11}$/.test(value)) {
    throw FhirError.badRequest(`Invalid version id "${truncate(value)}": versions are positive integers`, expression);
  }
  return Number(value);
}

export function newResourceId(): string {
  return randomUUID();
}

function truncate(value: string | undefined): string {
  const text = String(value ?? '');
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
