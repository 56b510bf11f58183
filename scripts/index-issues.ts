/**
 * Lists the resources indexed in a degraded form (core/search/opensearch/document-limits.ts):
 * one JSON line each, with the version and what its searches may miss. Reads the same
 * environment as `npm run reindex`: OPENSEARCH_URL, OPENSEARCH_INDEX, OPENSEARCH_AUTH, AWS_REGION.
 *
 *   npx tsx scripts/index-issues.ts [--tenant T]
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { openSearchClient } from '../core/search/opensearch/client.js';
import { incompletelyIndexed } from '../core/search/opensearch/index-issues.js';
import { parseTenantId } from '../core/tenant.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { tenant: { type: 'string' } } });
  const config = loadConfig();
  if (!config.openSearch) {
    throw new Error('OPENSEARCH_URL is not set; usage: npx tsx scripts/index-issues.ts [--tenant T]');
  }
  const client = openSearchClient(config.openSearch, config.region);
  let count = 0;
  for await (const resource of incompletelyIndexed(client, config.openSearch.index, { tenant: values.tenant === undefined ? undefined : parseTenantId(values.tenant) })) {
    console.log(JSON.stringify(resource));
    count++;
  }
  console.error(`${count} resources not fully indexed`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
