/**
 * Bulk export throughput and cost: loads the Synthea set (×`--scale`, default 1) into one tenant
 * of a fresh DynamoDB Local, then runs `GET /$export` through the local API with the local export
 * worker (fauxqs SQS and S3, 4 chunks at once) and prints resources exported per second and the
 * DynamoDB requests and read capacity per 1,000 resources: the process meter over planning and
 * chunks (completion is watched on the job record with an unmetered client, since every API
 * request resets the meter).
 *
 *   npx tsx scripts/bench/export.ts [--scale 1]
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ExportJobs } from '../../core/export/jobs.js';
import { resetDynamoUsage } from '../../core/storage/dynamo-client.js';
import { parseTenantId } from '../../core/tenant.js';
import { syntheaResources } from '../load/synthea.js';
import { localHandlerEnv, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { createLocalExportWorker } from '../local/export-worker.js';
import { startLocalApi } from '../local/http-server.js';
import { startLocalMessaging } from '../local/messaging.js';
import { ensureLocalTable } from '../local/table.js';
import { prepare } from '../prepare.js';
import { loadThroughApi } from './search.js';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' } } });
const scale = Number(values.scale);
const TENANT = 'bench-export';

process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.FHIR_AUTH_MODE = 'local-dev';
await prepare();
const database = await startDynamoDbLocal();
const messaging = await startLocalMessaging();
const worker = await createLocalExportWorker(messaging);
try {
  Object.assign(process.env, localHandlerEnv(database.endpoint, 'fhir-bench-export'), messaging.env, worker.env);
  await ensureLocalTable(database.endpoint, 'fhir-bench-export');
  worker.start();
  const resources = await syntheaResources(undefined, scale);
  console.error(`export ×${scale}: loading ${resources.length} resources`);
  await loadThroughApi(resources, scale, TENANT, 8);
  const api = await startLocalApi({ port: 0 });
  try {
    resetDynamoUsage();
    const started = performance.now();
    const kickOff = await fetch(`${api.baseUrl}/$export`, { headers: { prefer: 'respond-async', 'x-tenant-id': TENANT } });
    if (kickOff.status !== 202) {
      throw new Error(`kick-off: HTTP ${kickOff.status} ${await kickOff.text()}`);
    }
    const statusUrl = kickOff.headers.get('content-location') as string;
    const unmetered = new ExportJobs(DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: database.endpoint, region: process.env.AWS_REGION })), 'fhir-bench-export');
    const exportId = statusUrl.slice(statusUrl.lastIndexOf('/') + 1);
    for (;;) {
      const job = await unmetered.job(parseTenantId(TENANT), exportId);
      if (job?.status === 'completed') {
        break;
      }
      if (job?.status !== 'planning' && job?.status !== 'in-progress') {
        throw new Error(`export ${exportId}: ${job?.status} ${job?.error ?? ''}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    const usage = resetDynamoUsage();
    const status = await fetch(statusUrl, { headers: { 'x-tenant-id': TENANT } });
    const manifest = (await status.json()) as { output: { type: string; url: string; count: number }[] };
    const exported = manifest.output.reduce((sum, file) => sum + file.count, 0);
    const perThousand = (value: number) => Math.round((value / exported) * 1000 * 10) / 10;
    console.log(
      JSON.stringify(
        {
          scale,
          loaded: resources.length,
          exported,
          files: manifest.output.length,
          seconds: Math.round(seconds * 100) / 100,
          resourcesPerSecond: Math.round(exported / seconds),
          perThousandResources: {
            dynamodbRequests: perThousand(usage.requests),
            readCapacityUnits: perThousand(usage.readCapacityUnits),
            writeCapacityUnits: perThousand(usage.writeCapacityUnits),
          },
          operations: usage.operations,
        },
        null,
        2,
      ),
    );
  } finally {
    await api.close();
  }
} finally {
  await worker.stop();
  await messaging.stop();
  await database.stop();
}
