/**
 * Bulk Data `$export` as the router sees it (Bulk Data Access IG v2): kick-off (a job record and
 * a plan message; 202 with the status URL), status (202 with progress while it runs, 200 with the
 * manifest of presigned file URLs when complete, the error when failed), and cancel (files and
 * records removed). Only the tenant's own job records are ever addressed (their keys hold the
 * tenant), and only the subject who started a job sees or cancels it.
 */
import { randomUUID } from 'node:crypto';
import type { ExportConfig } from '../config.js';
import { FhirError } from '../errors.js';
import type { ResourceRepository } from '../storage/repository.js';
import type { TenantId } from '../tenant.js';
import type { ExportFiles, ExportQueue } from './drivers.js';
import type { ExportChunk, ExportJob, ExportJobs } from './jobs.js';
import type { ExportRequest } from './parameters.js';
import { removeFiles } from './worker.js';

/** The completion manifest (IG: "Response - Complete Status"). */
export interface ExportManifest {
  readonly transactionTime: string;
  readonly request: string;
  readonly requiresAccessToken: boolean;
  readonly output: readonly { readonly type: string; readonly url: string; readonly count: number }[];
  readonly error: readonly { readonly type: string; readonly url: string }[];
}

export type ExportStatus =
  | { readonly kind: 'running'; readonly progress: string }
  | { readonly kind: 'completed'; readonly manifest: ExportManifest; readonly expires: string }
  | { readonly kind: 'failed'; readonly error: string };

export interface BulkExportParts {
  readonly repository: ResourceRepository;
  readonly jobs: ExportJobs;
  readonly config: ExportConfig | undefined;
  /** The drivers, built when first needed: a kick-off needs the queue, status and cancel the files. */
  readonly queue: (config: ExportConfig) => ExportQueue;
  readonly files: (config: ExportConfig) => ExportFiles;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export class BulkExports {
  constructor(private readonly parts: BulkExportParts) {}

  /** The export settings; 501 where `$export` is not configured. */
  private get config(): ExportConfig {
    if (!this.parts.config) {
      throw FhirError.of(501, 'not-supported', '$export is not configured on this server (FHIR_EXPORT_BUCKET, FHIR_EXPORT_QUEUE_URL)');
    }
    return this.parts.config;
  }

  /** Starts an export; returns its id. A Group export needs the Group (404 otherwise), and exports its current members. */
  async kickOff(tenant: TenantId, owner: string, request: ExportRequest, requestUrl: string): Promise<string> {
    const queue = this.parts.queue(this.config);
    let groupVersion: number | undefined;
    if (request.groupId !== undefined) {
      const group = await this.parts.repository.readCurrent({ tenant, resourceType: 'Group', id: request.groupId });
      if (!group || group.deleted) {
        throw FhirError.notFound(`Group/${request.groupId} is not known`);
      }
      groupVersion = group.version;
    }
    const exportId = randomUUID();
    const job: ExportJob = {
      tenant,
      exportId,
      owner,
      request: requestUrl,
      level: request.level,
      ...(request.groupId === undefined ? {} : { groupId: request.groupId, groupVersion }),
      types: request.types,
      ...(request.since === undefined ? {} : { since: request.since }),
      typeFilters: request.typeFilters,
      transactionTime: new Date().toISOString(),
      status: 'planning',
      chunksDone: 0,
    };
    await this.parts.jobs.create(job);
    try {
      await queue.send([{ kind: 'plan', tenant, exportId }]);
    } catch (error) {
      await this.parts.jobs.remove(tenant, exportId);
      throw error;
    }
    return exportId;
  }

  async status(tenant: TenantId, owner: string, exportId: string): Promise<ExportStatus> {
    const { job, chunks } = await this.owned(tenant, owner, exportId);
    switch (job.status) {
      case 'failed':
        return { kind: 'failed', error: job.error ?? 'The export failed' };
      case 'planning':
        return { kind: 'running', progress: 'planning' };
      case 'in-progress': {
        const written = chunks.reduce((sum, chunk) => sum + chunk.files.reduce((count, file) => count + file.count, 0), 0);
        return { kind: 'running', progress: `${job.chunksDone}/${job.chunksTotal} chunks done, ${written} resources written` };
      }
      case 'completed':
        return { kind: 'completed', manifest: await this.manifest(job, chunks), expires: new Date(Date.now() + this.config.urlSeconds * 1000).toUTCString() };
    }
  }

  /** Cancels a running export or deletes a finished one: its files, then its records. */
  async cancel(tenant: TenantId, owner: string, exportId: string): Promise<void> {
    const { job } = await this.owned(tenant, owner, exportId);
    // Records first: a worker still running then fails to record its next file and removes it itself.
    await this.parts.jobs.remove(tenant, exportId);
    await removeFiles(this.parts.files(this.config), job);
  }

  /** The job and its chunks, if it is the caller's and not past retention; else 404 (another tenant's or subject's job is not there to them). */
  private async owned(tenant: TenantId, owner: string, exportId: string): Promise<{ job: ExportJob; chunks: ExportChunk[] }> {
    const found = await this.parts.jobs.withChunks(tenant, exportId);
    if (!found || found.job.owner !== owner) {
      throw FhirError.notFound(`No export ${exportId.slice(0, 64)} of this client`);
    }
    if (Date.parse(found.job.transactionTime) + this.config.retentionDays * DAY_MS < Date.now()) {
      // Its files have expired with the bucket's lifecycle rule: forget the job too.
      await this.parts.jobs.remove(tenant, exportId);
      throw FhirError.notFound(`Export ${exportId} expired after ${this.config.retentionDays} days`);
    }
    return found;
  }

  private async manifest(job: ExportJob, chunks: readonly ExportChunk[]): Promise<ExportManifest> {
    const files = this.parts.files(this.config);
    const output = await Promise.all(
      chunks.flatMap((chunk) => chunk.files.map(async (file) => ({ type: chunk.resourceType, url: await files.url(file.key, this.config.urlSeconds), count: file.count }))),
    );
    return { transactionTime: job.transactionTime, request: job.request, requiresAccessToken: false, output, error: [] };
  }
}
