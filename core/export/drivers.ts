/**
 * What an export needs from outside the table, as interfaces: the file store (S3, s3.ts) and the
 * work queue (SQS, sqs.ts). Handlers pass the implementations in as drivers (core/wiring.ts), so
 * a function that only kicks exports off never carries the S3 client.
 */
import type { TenantId } from '../tenant.js';

export interface ExportFiles {
  /** Writes one NDJSON file (replacing one of the same key). */
  put(key: string, body: string): Promise<void>;
  /** Removes every file under `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** A presigned GET URL of the file, valid for `seconds`. */
  url(key: string, seconds: number): Promise<string>;
}

/** A unit of export work: plan a job's chunks, or run (or go on with) one chunk. */
export type ExportMessage =
  | { readonly kind: 'plan'; readonly tenant: TenantId; readonly exportId: string }
  | { readonly kind: 'chunk'; readonly tenant: TenantId; readonly exportId: string; readonly chunk: number };

export interface ExportQueue {
  send(messages: readonly ExportMessage[]): Promise<void>;
}
