/**
 * `npm run reindex`: rebuilds the OpenSearch index from the table (recovery), with a parallel
 * Scan and a progress bar. Creates the index (mappings from core/search/opensearch/mapping.ts)
 * if it is missing.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseArgs } from 'node:util';
import { openSearchClient } from '../core/search/opensearch/client.js';
import { ensureIndex } from '../core/search/opensearch/mapping.js';
import { reindexTable } from '../core/search/opensearch/reindex.js';
import { parseTenantId } from '../core/tenant.js';
import { Components } from '../core/wiring.js';
import { toolConfig } from './cli/local-stack.js';
import { formatCount, startProgress } from './cli/progress.js';

const USAGE = `usage: npm run reindex -- [--tenant T] [--segments N] [--table NAME] [--endpoint URL] [--opensearch-url URL]

Rebuilds the OpenSearch index from the table: every resource's current version, applied as the
stream processor would (safe while the system runs).

  --tenant T            only this tenant's resources (default: every tenant)
  --segments N          parallel Scan segments (default 8)
  --table NAME          the table (else FHIR_TABLE_NAME)
  --endpoint URL        DynamoDB Local's URL (else DYNAMODB_ENDPOINT; neither: AWS)
  --opensearch-url URL  the OpenSearch node (else OPENSEARCH_URL); the index is OPENSEARCH_INDEX,
                        default fhir-resources

With neither --table nor FHIR_TABLE_NAME, it works on the stack a running \`npm start\` on this
machine announced (its table, DynamoDB Local and OpenSearch).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      tenant: { type: 'string' },
      segments: { type: 'string', default: '8' },
      table: { type: 'string' },
      endpoint: { type: 'string' },
      'opensearch-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!/^[1-9]\d*$/.test(values.segments)) {
    throw new Error(`--segments must be a positive integer\n${USAGE}`);
  }
  const { config, stack } = await toolConfig({ FHIR_TABLE_NAME: values.table, DYNAMODB_ENDPOINT: values.endpoint, OPENSEARCH_URL: values['opensearch-url'] }, { usage: USAGE });
  if (stack) {
    console.error(`The local stack of npm start (pid ${stack.pid}): table ${config.tableName} at ${config.dynamoEndpoint}`);
  }
  if (!config.openSearch) {
    throw new Error(
      stack
        ? 'The running npm start has no OpenSearch (started with --no-opensearch, or without Java and Maven): there is no index to rebuild. Pass --opensearch-url to rebuild another one.'
        : `No OpenSearch: pass --opensearch-url or set OPENSEARCH_URL.\n${USAGE}`,
    );
  }
  const components = new Components(config, { openSearchClient });
  const client = components.openSearch!;
  await ensureIndex(client, config.openSearch.index);
  const table = await new DynamoDBClient({ region: config.region, endpoint: config.dynamoEndpoint }).send(new DescribeTableCommand({ TableName: config.tableName }));
  // ItemCount counts every item (versions, lookups, audit too) and is refreshed every few hours on AWS: a guide, not a promise.
  const progress = startProgress(process.stderr, table.Table?.ItemCount ?? 0, 'items scanned');
  const started = performance.now();
  const summary = await reindexTable({
    client: components.documents,
    tableName: config.tableName,
    indexer: components.indexer!,
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
