/**
 * The export worker: what one message of the export queue does (core/export/drivers.ts).
 *
 * - `plan`: splits the job into chunks — per type, runs of about `chunkResources` resources of
 *   its GSI3 partition (type by lastUpdated), found by counting index keys, or for a Group, its
 *   patients' GSI2 compartment partitions in batches — stores them and queues one message each.
 * - `chunk`: leases the chunk, reads its resources page by page in index order (GSI3/GSI2 keys,
 *   then the current versions by BatchGetItem), keeps those passing the level's compartment rule,
 *   `_since` and `_typeFilter`, and writes NDJSON files of up to `maxFileBytes`. Each file is
 *   recorded with the index position after its last resource (jobs.ts), so when time runs out
 *   (or the Lambda is killed) the chunk goes on from there: queued again by itself, or redelivered
 *   by the queue once its lease and visibility have expired.
 *
 * Never a table scan: every read is a query of one tenant's index partition or a get by key.
 * Ascending lastUpdated order means a resource updated during the run moves ahead of the cursor:
 * it is never missed (it may then appear twice, old and new version); the last chunk of a type is
 * open-ended to catch it.
 */
import { randomUUID } from 'node:crypto';
import type { Group, Resource } from '@medplum/fhirtypes';
import type { ExportConfig } from '../config.js';
import { mapLimited } from '../map-limited.js';
import { compartmentPatients } from '../r4/compartment.js';
import { MULTI_PATIENT, gsi2PatientPartition, gsi3TypePartition } from '../storage/keys.js';
import { queryPages } from '../storage/paginate.js';
import type { ResourceRepository } from '../storage/repository.js';
import type { TenantId } from '../tenant.js';
import type { ExportFiles, ExportMessage, ExportQueue } from './drivers.js';
import { ChunkLostError, type ChunkCursor, type ChunkPlan, type ExportChunk, type ExportFile, type ExportJob, type ExportJobs, type IndexKey } from './jobs.js';
import { exportFileKey, exportTypePrefix } from './layout.js';
import { passesTypeFilter, typeFilterCriteria } from './parameters.js';

/** Index keys per query page: one BatchGetItem of bodies each. */
const PAGE_SIZE = 100;
/** Patients (or ids) per chunk of a Group export. */
const GROUP_BATCH = 100;
/** Types planned at once. */
const PLAN_PARALLEL = 8;

export interface ExportWorkerParts {
  readonly repository: ResourceRepository;
  readonly jobs: ExportJobs;
  readonly files: ExportFiles;
  readonly queue: ExportQueue;
  readonly config: ExportConfig;
}

/** How long this invocation may work: it saves and hands over at `stopAt`; its lease lasts until `leaseUntil` (both epoch ms). */
export interface WorkBudget {
  readonly stopAt: number;
  readonly leaseUntil: number;
}

/** The chunk is being run by another worker: the message should come back later. */
export class ChunkBusyError extends Error {}

/** One candidate read from the index: the resource to write (absent when it is left out) and the position after it. */
interface Candidate {
  readonly resource?: Resource;
  readonly cursor: ChunkCursor;
}

export class ExportWorker {
  constructor(private readonly parts: ExportWorkerParts) {}

  async handle(message: ExportMessage, budget: WorkBudget): Promise<void> {
    if (message.kind === 'plan') {
      await this.plan(message.tenant, message.exportId);
    } else {
      await this.runChunk(message.tenant, message.exportId, message.chunk, budget);
    }
  }

  /** Marks the job failed and removes its files: what the queue's last failed attempt at a message does. */
  async abandon(message: ExportMessage, reason: string): Promise<void> {
    const job = await this.parts.jobs.job(message.tenant, message.exportId);
    if (job && (await this.parts.jobs.fail(job.tenant, job.exportId, reason))) {
      await removeFiles(this.parts.files, job);
    }
  }

  async plan(tenant: TenantId, exportId: string): Promise<void> {
    const { jobs, queue } = this.parts;
    const job = await jobs.job(tenant, exportId);
    if (job?.status === 'in-progress') {
      // A planner that stored its plan but died before queuing it: queue what is not done.
      const stored = await jobs.withChunks(tenant, exportId);
      await queue.send((stored?.chunks ?? []).filter((chunk) => !chunk.done).map((chunk) => ({ kind: 'chunk', tenant, exportId, chunk: chunk.index })));
      return;
    }
    if (job?.status !== 'planning') {
      return;
    }
    const plans = job.level === 'group' ? await this.groupPlans(job) : (await mapLimited(job.types, PLAN_PARALLEL, (type) => this.typePlans(job, type))).flat();
    if (!(await jobs.storePlan(job, plans))) {
      return;
    }
    if (plans.length === 0) {
      await jobs.completeIfDone(tenant, exportId);
      return;
    }
    await queue.send(plans.map((_, index) => ({ kind: 'chunk', tenant, exportId, chunk: index })));
  }

  /** Runs of about `chunkResources` keys of the type's GSI3 partition (from `_since`), found by counting keys page by page. */
  private async typePlans(job: ExportJob, resourceType: string): Promise<ChunkPlan[]> {
    const plans: ChunkPlan[] = [];
    let after: IndexKey | undefined;
    let counted = 0;
    const pages = queryPages(this.parts.repository.client, {
      ...indexQuery('GSI3', gsi3TypePartition(job.tenant, resourceType), job.since, undefined, this.parts.repository.tableName),
      Select: 'COUNT',
      Limit: this.parts.config.chunkResources,
    });
    for await (const page of pages) {
      counted += page.Count ?? 0;
      const last = page.LastEvaluatedKey as IndexKey | undefined;
      if (counted >= this.parts.config.chunkResources && last) {
        plans.push({ resourceType, source: { kind: 'type', ...(after ? { after } : {}), until: last.GSI3SK } });
        after = last;
        counted = 0;
      }
    }
    if (counted > 0 || after) {
      plans.push({ resourceType, source: { kind: 'type', ...(after ? { after } : {}) } });
    }
    return plans;
  }

  /** A Group's Patients by id, and each other type (that the tenant has) in its patients' compartments. */
  private async groupPlans(job: ExportJob): Promise<ChunkPlan[]> {
    const members = await this.groupMembers(job);
    const present = await mapLimited(job.types, PLAN_PARALLEL, async (type) => (type !== 'Patient' && (await this.hasAny(job, type)) ? type : undefined));
    const plans: ChunkPlan[] = [];
    if (job.types.includes('Patient')) {
      plans.push(...batches(members, GROUP_BATCH).map((ids) => ({ resourceType: 'Patient', source: { kind: 'ids' as const, ids } })));
    }
    for (const type of present.filter((type) => type !== undefined)) {
      plans.push(...batches(members, GROUP_BATCH).map((patients) => ({ resourceType: type, source: { kind: 'patients' as const, patients } })));
      if (members.length > 0) {
        plans.push({ resourceType: type, source: { kind: 'multi' } });
      }
    }
    return plans;
  }

  private async hasAny(job: ExportJob, resourceType: string): Promise<boolean> {
    const pages = queryPages(this.parts.repository.client, { ...indexQuery('GSI3', gsi3TypePartition(job.tenant, resourceType), job.since, undefined, this.parts.repository.tableName), Limit: 1 }, { limit: 1 });
    for await (const page of pages) {
      if ((page.Items ?? []).length > 0) {
        return true;
      }
    }
    return false;
  }

  /** The Patient members of the job's Group, as of the version the kick-off saw. */
  private async groupMembers(job: ExportJob): Promise<string[]> {
    const version = await this.parts.repository.readVersion({ tenant: job.tenant, resourceType: 'Group', id: job.groupId as string }, job.groupVersion as number);
    const group = version?.resource as Group | undefined;
    const ids = (group?.member ?? []).flatMap((member) => {
      const reference = member.entity?.reference ?? '';
      return reference.startsWith('Patient/') && !member.inactive ? [reference.slice('Patient/'.length)] : [];
    });
    return [...new Set(ids)];
  }

  async runChunk(tenant: TenantId, exportId: string, index: number, budget: WorkBudget): Promise<void> {
    const { jobs, files, queue, config } = this.parts;
    const owner = randomUUID();
    const leased = await jobs.lease(tenant, exportId, index, owner, budget.leaseUntil);
    if (leased === 'held') {
      throw new ChunkBusyError(`Chunk ${index} of export ${exportId} is being run by another worker`);
    }
    const job = leased === 'done' || leased === 'gone' ? undefined : await jobs.job(tenant, exportId);
    if (typeof leased === 'string' || job?.status !== 'in-progress') {
      return;
    }
    let chunk: Pick<ExportChunk, 'index' | 'part'> = leased;
    let lines: string[] = [];
    let bytes = 0;
    let position: ChunkCursor = leased.cursor ?? {};
    const flush = async (done: boolean) => {
      const file = lines.length > 0 ? await writeFile(files, job, leased.resourceType, chunk, lines, bytes) : undefined;
      try {
        await jobs.record(tenant, exportId, chunk, owner, { file, cursor: position, done });
      } catch (error) {
        if (error instanceof ChunkLostError && file && !(await jobs.job(tenant, exportId))) {
          // Canceled while this file was written: the cancel removed the others already.
          await files.deletePrefix(file.key);
        }
        throw error;
      }
      chunk = { index: chunk.index, part: chunk.part + (file ? 1 : 0) };
      lines = [];
      bytes = 0;
    };
    try {
      for await (const candidate of this.candidates(job, leased)) {
        position = candidate.cursor;
        if (candidate.resource) {
          const line = JSON.stringify(candidate.resource);
          lines.push(line);
          bytes += Buffer.byteLength(line) + 1;
          if (bytes >= config.maxFileBytes) {
            await flush(false);
          }
        }
        if (Date.now() >= budget.stopAt) {
          await flush(false);
          // Free for the continuation at once; the lease only guards against a duplicate delivery.
          await jobs.release(tenant, exportId, index, owner);
          await queue.send([{ kind: 'chunk', tenant, exportId, chunk: index }]);
          return;
        }
      }
      await flush(true);
    } catch (error) {
      if (error instanceof ChunkLostError) {
        return;
      }
      await jobs.release(tenant, exportId, index, owner);
      throw error;
    }
    await jobs.completeIfDone(tenant, exportId);
  }

  /** The chunk's candidates in index order, from its cursor on. */
  private async *candidates(job: ExportJob, chunk: ExportChunk): AsyncGenerator<Candidate> {
    const filters = job.typeFilters[chunk.resourceType]?.map((query) => typeFilterCriteria(chunk.resourceType, query));
    const keep = (resource: Resource, inCompartment: (patients: string[]) => boolean): boolean =>
      (job.since === undefined || (resource.meta?.lastUpdated ?? '') >= job.since) && inCompartment(compartmentPatients(resource)) && passesTypeFilter(resource, filters);
    const { source } = chunk;
    const start = chunk.cursor ?? {};
    const { tableName } = this.parts.repository;
    switch (source.kind) {
      case 'type': {
        const inCompartment = job.level === 'system' ? () => true : (patients: string[]) => patients.length > 0;
        const query = indexQuery('GSI3', gsi3TypePartition(job.tenant, chunk.resourceType), job.since, source.until, tableName);
        yield* this.indexCandidates(job.tenant, chunk.resourceType, query, start.key ?? source.after, (resource) => keep(resource, inCompartment), {});
        return;
      }
      case 'patients': {
        for (let partition = start.partition ?? 0; partition < source.patients.length; partition++) {
          const patient = source.patients[partition];
          const query = indexQuery('GSI2', gsi2PatientPartition(job.tenant, patient, chunk.resourceType), job.since, undefined, tableName);
          const from = partition === start.partition ? start.key : undefined;
          yield* this.indexCandidates(job.tenant, chunk.resourceType, query, from, (resource) => keep(resource, (patients) => patients.includes(patient)), { partition });
        }
        return;
      }
      case 'multi': {
        const members = new Set(await this.groupMembers(job));
        const query = indexQuery('GSI2', gsi2PatientPartition(job.tenant, MULTI_PATIENT, chunk.resourceType), job.since, undefined, tableName);
        yield* this.indexCandidates(job.tenant, chunk.resourceType, query, start.key, (resource) => keep(resource, (patients) => patients.some((id) => members.has(id))), {});
        return;
      }
      case 'ids': {
        // The cursor's partition counts the ids already written.
        const done = start.partition ?? 0;
        const ids = source.ids.slice(done);
        const versions = new Map((await this.parts.repository.readCurrentMany(job.tenant, ids.map((id) => ({ resourceType: chunk.resourceType, id })))).map((version) => [version.id, version]));
        for (const [offset, id] of ids.entries()) {
          const resource = versions.get(id)?.resource;
          yield { resource: resource && keep(resource, () => true) ? resource : undefined, cursor: { partition: done + offset + 1 } };
        }
        return;
      }
    }
  }

  /**
   * The live resources behind one index partition's keys, ascending, each with the position after
   * it. A key whose resource has since moved (updated: its current lastUpdated differs) or gone
   * (deleted) yields nothing: the moved one is met again at its new, later position.
   */
  private async *indexCandidates(
    tenant: TenantId,
    resourceType: string,
    query: ReturnType<typeof indexQuery>,
    from: IndexKey | undefined,
    keep: (resource: Resource) => boolean,
    cursorBase: Pick<ChunkCursor, 'partition'>,
  ): AsyncGenerator<Candidate> {
    const sortKey = query.IndexName === 'GSI3' ? 'GSI3SK' : 'GSI2SK';
    for await (const page of queryPages(this.parts.repository.client, { ...query, Limit: PAGE_SIZE, ExclusiveStartKey: from })) {
      const keys = (page.Items ?? []) as IndexKey[];
      const ids = keys.map((key) => key.PK.slice(key.PK.lastIndexOf('#') + 1));
      const versions = new Map((await this.parts.repository.readCurrentMany(tenant, ids.map((id) => ({ resourceType, id })))).map((version) => [version.id, version]));
      for (const [offset, key] of keys.entries()) {
        const version = versions.get(ids[offset]);
        const current = version?.resource !== undefined && key[sortKey] === `${version.lastUpdated}#${version.id}`;
        yield { resource: current && keep(version.resource as Resource) ? version.resource : undefined, cursor: { ...cursorBase, key } };
      }
    }
  }
}

/** A query of one index partition in ascending order, `GSI?SK` from `since` and up to `until` (inclusive). */
function indexQuery(indexName: 'GSI2' | 'GSI3', partition: string, since: string | undefined, until: string | undefined, tableName: string) {
  const sk = `${indexName}SK`;
  const range = since && until ? ` AND ${sk} BETWEEN :since AND :until` : since ? ` AND ${sk} >= :since` : until ? ` AND ${sk} <= :until` : '';
  return {
    TableName: tableName,
    IndexName: indexName,
    KeyConditionExpression: `${indexName}PK = :pk${range}`,
    ExpressionAttributeValues: { ':pk': partition, ...(since ? { ':since': since } : {}), ...(until ? { ':until': until } : {}) },
    ScanIndexForward: true,
  };
}

async function writeFile(files: ExportFiles, job: ExportJob, resourceType: string, chunk: Pick<ExportChunk, 'index' | 'part'>, lines: readonly string[], bytes: number): Promise<ExportFile> {
  const key = exportFileKey(resourceType, job.tenant, job.exportId, chunk.index, chunk.part);
  await files.put(key, `${lines.join('\n')}\n`);
  return { key, count: lines.length, bytes };
}

/** Removes every file of the job, under each of its types' folders. */
export async function removeFiles(files: ExportFiles, job: Pick<ExportJob, 'tenant' | 'exportId' | 'types'>): Promise<void> {
  await mapLimited(job.types, PLAN_PARALLEL, (type) => files.deletePrefix(exportTypePrefix(type, job.tenant, job.exportId)));
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let offset = 0; offset < items.length; offset += size) {
    result.push(items.slice(offset, offset + size));
  }
  return result;
}
