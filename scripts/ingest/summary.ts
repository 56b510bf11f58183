/** What an ingest did (ingest.ts), as its report tells it (report.ts). */

export interface IngestFailure {
  readonly unit: string;
  /** The server's answer; absent when there was none or the unit was never sent. */
  readonly status?: number;
  readonly message: string;
}

export interface Counts {
  readonly loaded: number;
  readonly failed: number;
  /** Already loaded according to the state file. */
  readonly skipped: number;
}

export interface IngestSummary {
  readonly format: 'bundles' | 'ndjson';
  readonly files: number;
  /** Bundle files, or the Bundles made of NDJSON chunks. */
  readonly units: Counts;
  readonly resources: Counts;
  readonly elapsedMs: number;
  /** In the order of the units' names. */
  readonly failures: readonly IngestFailure[];
}
