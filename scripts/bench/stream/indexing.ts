/** 1. Indexing throughput: the Synthea data PUT through the local API while the processor runs, until the index holds every resource. */
import type { Resource } from '@medplum/fhirtypes';
import type { Client } from '@opensearch-project/opensearch';
import type { StreamPoller } from '../../local/stream-poller.js';
import { loadThroughApi } from '../search.js';
import { round, summarize } from '../stats.js';
import type { IndexingFigures, StreamBenchOptions } from '../stream.js';
import { busyMs, DRAIN_TIMEOUT_MS, INDEX, meter, progress } from './setup.js';

async function countIn(client: Client, index: string, tenant: string): Promise<number> {
  const response = await client.count({ index, routing: tenant, body: { query: { term: { tenant } } } } as never);
  return (response.body as { count: number }).count;
}

export async function benchIndexing(client: Client, poller: StreamPoller, options: StreamBenchOptions, scale: number, resources: readonly Resource[]): Promise<IndexingFigures> {
  const tenant = `bench-stream-x${scale}`;
  progress(`×${scale}: PUT ${resources.length} resources into tenant ${tenant}, processor running`);
  const before = poller.stats();
  meter.reset();
  const started = performance.now();
  const load = await loadThroughApi(resources, scale, tenant, options.loadConcurrency);
  const written = performance.now();
  await poller.drain(DRAIN_TIMEOUT_MS);
  await client.indices.refresh({ index: INDEX });
  const indexedCount = await countIn(client, INDEX, tenant);
  const indexed = performance.now();
  if (indexedCount !== resources.length) {
    progress(`×${scale}: the index holds ${indexedCount} of ${resources.length} resources after drain and refresh`);
  }
  const after = poller.stats();
  const invocations = meter.invocations;
  const busy = busyMs(invocations) / 1000;
  const records = invocations.reduce((sum, invocation) => sum + invocation.records, 0);
  const indexedSeconds = (indexed - started) / 1000;
  return {
    scale,
    tenant,
    resources: resources.length,
    writeSeconds: load.seconds,
    writesPerSecond: load.resourcesPerSecond,
    indexedSeconds: round(indexedSeconds),
    resourcesPerSecond: round(indexedCount / indexedSeconds),
    lagAfterLastWriteMs: Math.round(indexed - written),
    indexedCount,
    stream: {
      invocations: invocations.length,
      records,
      resourceRecords: invocations.reduce((sum, invocation) => sum + invocation.resourceRecords, 0),
      retries: after.retries - before.retries,
      deadLettered: after.deadLettered - before.deadLettered,
      recordsPerInvocation: summarize(invocations.map((invocation) => invocation.records)),
    },
    handler: {
      busySeconds: round(busy),
      resourcesPerBusySecond: round(resources.length / busy),
      recordsPerBusySecond: round(records / busy),
      invocationMs: summarize(invocations.map((invocation) => invocation.end - invocation.start)),
      stepsSeconds: { index: round(meter.steps.index / 1000), audit: round(meter.steps.audit / 1000), publish: round(meter.steps.publish / 1000) },
    },
  };
}
