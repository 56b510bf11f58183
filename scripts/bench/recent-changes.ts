/**
 * What read-your-writes costs (docs/consistency.md), on DynamoDB Local with the DynamoDB engine:
 * the requests and capacity the recent-changes overlay adds to a write, to the stream processor
 * and to a search; search p50/p99 on a settled type and right after a burst of writes; write p50.
 *
 *   npx tsx scripts/bench/recent-changes.ts [--resources 500] [--burst 200] [--searches 50]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../../core/config.js';
import { createResource, type FhirContext, searchResources } from '../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../core/search/dynamodb/engine.js';
import { createDocumentClient, type DynamoUsage, resetDynamoUsage } from '../../core/storage/dynamo-client.js';
import { RecentChanges } from '../../core/storage/recent-changes.js';
import { ResourceRepository } from '../../core/storage/repository.js';
import { parseTenantId } from '../../core/tenant.js';
import { localHandlerEnv, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { ensureLocalTable } from '../local/table.js';
import { type Summary, round, summarize } from './stats.js';

const TABLE = 'fhir-bench-recent';

export interface RecentChangesFigures {
  /** A create: all of it, and the overlay's share (one more item in its TransactWriteItems). */
  readonly write: { readonly usage: DynamoUsage; readonly overlayWcu: number; readonly latency: Summary };
  /** The stream processor's removal of one change's item. */
  readonly forget: DynamoUsage;
  /** Reading one type's overlay in a search: empty, and holding `burst` recent changes. */
  readonly overlayRead: { readonly empty: DynamoUsage; readonly afterBurst: DynamoUsage };
  readonly search: { readonly settled: Summary; readonly afterBurst: Summary };
}

const patient = (family: string): Resource => ({ resourceType: 'Patient', name: [{ family, given: ['Bench'] }], gender: 'female', birthDate: '1970-01-01' });

async function timed<T>(samples: number[], run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  samples.push(performance.now() - started);
  return result;
}

function perCall(usage: DynamoUsage, calls: number): DynamoUsage {
  return {
    requests: round(usage.requests / calls),
    readCapacityUnits: round(usage.readCapacityUnits / calls),
    writeCapacityUnits: round(usage.writeCapacityUnits / calls),
    itemsRead: round(usage.itemsRead / calls),
    operations: Object.fromEntries(Object.entries(usage.operations).map(([name, count]) => [name, round(count / calls)])),
  };
}

export async function benchRecentChanges(env: Record<string, string>, options: { resources: number; burst: number; searches: number }): Promise<RecentChangesFigures> {
  const config = loadConfig({ ...process.env, ...env });
  const repository = new ResourceRepository(createDocumentClient(config), config.tableName);
  const recentChanges = new RecentChanges(repository);
  const context: FhirContext = { repository, searchEngine: new DynamoSearchEngine(repository, config.maxSearchScan), tenant: parseTenantId(`bench-${randomUUID().slice(0, 8)}`), principal: 'bench' };
  const family = 'Benchmark';

  // A settled type: written, then every overlay item removed as the stream processor would.
  const writeLatency: number[] = [];
  const settled = [];
  for (let index = 0; index < options.resources; index++) {
    settled.push(await timed(writeLatency, () => createResource(context, 'Patient', patient(index % 10 === 0 ? family : `Other${index}`))));
  }
  resetDynamoUsage();
  await createResource(context, 'Patient', patient('Measured'));
  const write = resetDynamoUsage();
  const forgotten = settled.map((version) => ({ tenant: context.tenant, resourceType: 'Patient', id: version.id, version: version.version }));
  await recentChanges.forget(forgotten.slice(1));
  resetDynamoUsage();
  await recentChanges.forget(forgotten.slice(0, 1));
  const forget = resetDynamoUsage();
  const measured = await searchResources(context, { resourceType: 'Patient', parameters: { family: ['Measured'] }, strict: true, defaultCount: 20, maxCount: 20 });
  await recentChanges.forget(measured.result.matches.map((resource) => ({ tenant: context.tenant, resourceType: 'Patient', id: resource.id as string, version: Number(resource.meta?.versionId) })));

  const search = async (samples: number[]) => {
    for (let run = 0; run < options.searches; run++) {
      await timed(samples, () => searchResources(context, { resourceType: 'Patient', parameters: { family: [family] }, strict: true, defaultCount: 20, maxCount: 20 }));
    }
  };
  resetDynamoUsage();
  await recentChanges.reader(context.tenant, 'gsis')('Patient');
  const empty = resetDynamoUsage();
  const settledSearch: number[] = [];
  await search(settledSearch);

  for (let index = 0; index < options.burst; index++) {
    await createResource(context, 'Patient', patient(index % 10 === 0 ? family : `Burst${index}`));
  }
  resetDynamoUsage();
  await recentChanges.reader(context.tenant, 'gsis')('Patient');
  const afterBurst = resetDynamoUsage();
  const burstSearch: number[] = [];
  await search(burstSearch);

  return {
    // A transactional write of an item under 1 KB: 2 WCU.
    write: { usage: write, overlayWcu: 2, latency: summarize(writeLatency) },
    forget: perCall(forget, 1),
    overlayRead: { empty, afterBurst },
    search: { settled: summarize(settledSearch), afterBurst: summarize(burstSearch) },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { resources: { type: 'string' }, burst: { type: 'string' }, searches: { type: 'string' } } });
  const options = { resources: Number(values.resources ?? 500), burst: Number(values.burst ?? 200), searches: Number(values.searches ?? 50) };
  const database = await startDynamoDbLocal();
  try {
    await ensureLocalTable(database.endpoint, TABLE);
    const env = localHandlerEnv(database.endpoint, TABLE);
    // The SDK reads the emulator's dummy credentials from the environment.
    Object.assign(process.env, env);
    const figures = await benchRecentChanges(env, options);
    console.log(JSON.stringify({ options, ...figures }, null, 2));
  } finally {
    await database.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
