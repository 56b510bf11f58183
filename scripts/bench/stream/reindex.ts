/** `reindexTable` into a second index, from the table the indexing bench filled. */
import type { Client } from '@opensearch-project/opensearch';
import { config } from '../../../core/config.js';
import { ResourceIndexer } from '../../../core/search/opensearch/indexer.js';
import { ensureIndex } from '../../../core/search/opensearch/mapping.js';
import { reindexTable } from '../../../core/search/opensearch/reindex.js';
import { createDocumentClient } from '../../../core/storage/dynamo-client.js';
import { round } from '../stats.js';
import type { ReindexFigures } from '../stream.js';
import { progress } from './setup.js';

const REINDEX_INDEX = 'fhir-bench-reindex';
const REINDEX_SEGMENTS = 8;

export async function benchReindex(client: Client, expected: number): Promise<ReindexFigures> {
  progress(`reindexTable into a fresh index (${expected} resources expected)`);
  await ensureIndex(client, REINDEX_INDEX);
  const resolved = config();
  const started = performance.now();
  const summary = await reindexTable({
    client: createDocumentClient(resolved),
    tableName: resolved.tableName,
    indexer: new ResourceIndexer(client, REINDEX_INDEX),
    segments: REINDEX_SEGMENTS,
  });
  const seconds = (performance.now() - started) / 1000;
  if (summary.indexed !== expected || summary.failed > 0) {
    progress(`reindex indexed ${summary.indexed} of ${expected}, ${summary.failed} failed: ${summary.failures.slice(0, 3).join('; ')}`);
  }
  await client.indices.delete({ index: REINDEX_INDEX });
  return {
    resources: summary.indexed,
    scannedItems: summary.scannedItems,
    failed: summary.failed,
    seconds: round(seconds),
    resourcesPerSecond: round(summary.indexed / seconds),
    segments: REINDEX_SEGMENTS,
  };
}
