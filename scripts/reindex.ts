/**
 * `npm run reindex`: rebuilds the OpenSearch index from the table (recovery), with a parallel
 * Scan and a progress bar. Reads the same environment as the handlers: FHIR_TABLE_NAME,
 * DYNAMODB_ENDPOINT (local), OPENSEARCH_URL, OPENSEARCH_INDEX, OPENSEARCH_AUTH, AWS_REGION.
 * Creates the index (mappings from core/search/opensearch/mapping.ts) if it is missing.
 *
 *   npm run reindex -- [--tenant t] [--segments 8]
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { openSearchClient } from '../core/search/opensearch/client.js';
import { ResourceIndexer } from '../core/search/opensearch/indexer.js';
import { ensureIndex } from '../core/search/opensearch/mapping.js';
import { reindexTable } from '../core/search/opensearch/reindex.js';
import { createDocumentClient } from '../core/storage/dynamo-client.js';
import { parseTenantId } from '../core/tenant.js';
import { formatCount, startProgress } from './cli/progress.js';

const USAGE = 'usage: npm run reindex -- [--tenant T] [--segments N]   (with FHIR_TABLE_NAME and OPENSEARCH_URL set)';

async function main(): Promise<number> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { tenant: { type: 'string' }, segments: { type: 'string', default: '8' } } });
  if (!/^[1-9]\d*$/.test(values.segments)) {
    throw new Error(`--segments must be a positive integer; ${USAGE}`);
  }
  const config = loadConfig();
  if (!config.openSearch) {
    throw new Error(`OPENSEARCH_URL is not set; ${USAGE}`);
  }
  const client = openSearchClient(config.openSearch, config.region);
  await ensureIndex(client, config.openSearch.index);
  const table = await new DynamoDBClient({ region: config.region, endpoint: config.dynamoEndpoint }).send(new DescribeTableCommand({ TableName: config.tableName }));
  // ItemCount counts every item (versions, lookups, audit too) and is refreshed every few hours on AWS: a guide, not a promise.
  const progress = startProgress(process.stderr, table.Table?.ItemCount ?? 0, 'items scanned');
  const started = performance.now();
  const summary = await reindexTable({
    client: createDocumentClient(config),
    tableName: config.tableName,
    indexer: new ResourceIndexer(client, config.openSearch.index),
    tenant: values.tenant === undefined ? undefined : parseTenantId(values.tenant),
    segments: Number(values.segments),
    onProgress: (items) => progress.advance(items),
  });
  progress.finish();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `Indexed ${formatCount(summary.indexed)} resources, applied ${formatCount(summary.deleted)} deletions, ${formatCount(summary.failed)} failed; ` +
      `${formatCount(summary.scannedItems)} items scanned in ${seconds.toFixed(1)} s (${formatCount(Math.round(summary.indexed / Math.max(seconds, 0.001)))} resources/s)`,
  );
  for (const failure of summary.failures) {
    console.log(`  ${failure}`);
  }
  return summary.failed > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
