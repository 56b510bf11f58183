/** 2. Write → searchable: one PUT at a time, an OpenSearch query for it until it is found, and where the time went. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import { INDEX_SETTINGS } from '../../../core/search/opensearch/mapping.js';
import { startLocalApi } from '../../local/http-server.js';
import { mean, summarize } from '../stats.js';
import type { SearchableFigures } from '../stream.js';
import { INDEX, meter, POLL_INTERVAL_MS, progress } from './setup.js';

/** Pause between writes, uniform in this range so writes fall at every phase of the poll and refresh cycles. */
const PACING_MS: readonly [number, number] = [50, 250];
const CHECK_INTERVAL_MS = 10;
const SEARCHABLE_TIMEOUT_MS = 15_000;

export async function benchSearchable(client: Client, samples: number): Promise<SearchableFigures> {
  const tenant = 'bench-stream-e2e';
  progress(`write → searchable: ${samples} PUTs one at a time into tenant ${tenant}`);
  meter.reset();
  const api = await startLocalApi();
  const pending = new Map<string, number>();
  const acknowledged = new Map<string, number>();
  const found = new Map<string, number>();
  const writeMs: number[] = [];
  let timedOut = 0;
  let writing = true;
  const checker = (async () => {
    while (writing || pending.size > 0) {
      if (pending.size === 0) {
        await sleep(CHECK_INTERVAL_MS);
        continue;
      }
      const refs = [...pending.keys()];
      const sent = performance.now();
      const response = await client.search({
        index: INDEX,
        routing: tenant,
        body: { query: { bool: { filter: [{ term: { tenant } }, { terms: { ref: refs } }] } }, _source: ['ref'], size: refs.length },
      } as never);
      for (const hit of (response.body as { hits: { hits: { _source: { ref: string } }[] } }).hits.hits) {
        if (pending.delete(hit._source.ref)) {
          found.set(hit._source.ref, sent);
        }
      }
      for (const [ref, ack] of pending) {
        if (sent - ack > SEARCHABLE_TIMEOUT_MS) {
          pending.delete(ref);
          timedOut++;
        }
      }
      await sleep(CHECK_INTERVAL_MS);
    }
  })();
  try {
    for (let i = 0; i < samples; i++) {
      const id = `e2e-${i}-${randomUUID().slice(0, 8)}`;
      const patient = { resourceType: 'Patient', id, name: [{ family: 'Searchable', given: [`Sample${i}`] }], gender: 'unknown' };
      const started = performance.now();
      const response = await fetch(`${api.baseUrl}/Patient/${id}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/fhir+json', 'X-Tenant-ID': tenant },
        body: JSON.stringify(patient),
      });
      const body = await response.text();
      const ack = performance.now();
      if (response.status !== 201 && response.status !== 200) {
        throw new Error(`PUT Patient/${id}: HTTP ${response.status}: ${body.slice(0, 1000)}`);
      }
      writeMs.push(ack - started);
      pending.set(`Patient/${id}`, ack);
      acknowledged.set(`Patient/${id}`, ack);
      await sleep(PACING_MS[0] + Math.random() * (PACING_MS[1] - PACING_MS[0]));
    }
  } finally {
    writing = false;
    await checker;
    await api.close();
  }
  const searchable: number[] = [];
  const toHandler: number[] = [];
  const toIndexed: number[] = [];
  const toVisible: number[] = [];
  for (const [ref, at] of found) {
    const ack = acknowledged.get(ref)!;
    searchable.push(at - ack);
    const start = meter.handlerStart.get(`${tenant}/${ref}`);
    const indexed = meter.indexedAt.get(`${tenant}/${ref}`);
    if (start !== undefined && indexed !== undefined) {
      toHandler.push(start - ack);
      toIndexed.push(indexed - start);
      toVisible.push(at - indexed);
    }
  }
  const parts = { toHandlerMs: summarize(toHandler), toIndexedMs: summarize(toIndexed), toVisibleMs: summarize(toVisible) };
  const shares = [
    { name: `waiting for the index refresh (every ${INDEX_SETTINGS.refresh_interval}: ~500 ms on average)`, ms: mean(toVisible) },
    { name: `waiting for the poller (every ${POLL_INTERVAL_MS} ms here; Lambda polls a shard about 4×/s)`, ms: mean(toHandler) },
    { name: 'the handler until its bulk request returned', ms: mean(toIndexed) },
  ].sort((a, b) => b.ms - a.ms);
  const total = shares.reduce((sum, share) => sum + share.ms, 0);
  const dominatedBy = `Mean ${Math.round(total)} ms = ${shares.map((share) => `${Math.round(share.ms)} ms (${Math.round((share.ms / total) * 100)}%) ${share.name}`).join(' + ')}.`;
  return {
    tenant,
    samples,
    found: found.size,
    timedOut,
    writeMs: summarize(writeMs),
    searchableMs: summarize(searchable),
    parts,
    pollIntervalMs: POLL_INTERVAL_MS,
    refreshInterval: INDEX_SETTINGS.refresh_interval,
    checkIntervalMs: CHECK_INTERVAL_MS,
    pacingMs: PACING_MS,
    dominatedBy,
  };
}
