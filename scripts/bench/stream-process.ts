/**
 * The stream part's measurements (stream.ts explains the part), in a process of its own:
 *
 *   node --import tsx scripts/bench/stream-process.ts '<ChildInput JSON>'
 *
 * The measurements of stream/ run in turn (indexing, reindex, searchable, engines, audit) on the
 * stack and with the instrumentation of stream/setup.ts. The figures are written to `resultPath`.
 * Handler log lines go to stdout (the parent reads them), progress to stderr.
 */
import { writeFile } from 'node:fs/promises';
import { syntheaResources } from '../load/synthea.js';
import { DataIndex, pickValues, type Picks } from './search.js';
import { round } from './stats.js';
import type { ChildInput, IndexingFigures, StreamFigures } from './stream.js';
import { benchAudit } from './stream/audit.js';
import { benchEngines } from './stream/engines.js';
import { benchIndexing } from './stream/indexing.js';
import { benchReindex } from './stream/reindex.js';
import { benchSearchable } from './stream/searchable.js';
import { DRAIN_TIMEOUT_MS, startStreamStack } from './stream/setup.js';

async function main(input: ChildInput): Promise<Omit<StreamFigures, 'log'>> {
  const { options, endpoint } = input;
  const started = performance.now();
  const stack = await startStreamStack(endpoint);
  const { client, poller } = stack;
  try {
    const dataByScale = new Map<number, DataIndex>();
    const indexing: IndexingFigures[] = [];
    let picks: Picks | undefined;
    for (const scale of options.scales) {
      const resources = await syntheaResources(options.syntheaDir, scale);
      picks ??= pickValues(await syntheaResources(options.syntheaDir, 1));
      dataByScale.set(scale, new DataIndex(resources));
      indexing.push(await benchIndexing(client, poller, options, scale, resources));
    }
    const reindex = await benchReindex(
      client,
      indexing.reduce((sum, figures) => sum + figures.resources, 0),
    );
    const searchable = await benchSearchable(client, options.samples);
    await poller.drain(DRAIN_TIMEOUT_MS);
    await poller.stop();

    const search = await benchEngines(options, picks!, dataByScale);
    const audit = await benchAudit(options);
    return { openSearchStartSeconds: stack.openSearchStartSeconds, indexing, reindex, searchable, search, audit, seconds: round((performance.now() - started) / 1000) };
  } finally {
    await stack.stop();
  }
}

const input = JSON.parse(process.argv[2] ?? '') as ChildInput;
try {
  const figures = await main(input);
  await writeFile(input.resultPath, JSON.stringify(figures));
  // Keep-alive sockets of the SDK clients would hold the process open.
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
