/**
 * What every measurement of the stream part shares: the stack it runs on (a fresh table in the
 * parent's DynamoDB Local, a local OpenSearch node, fauxqs, the stream poller feeding the real
 * processor), progress lines, and the instrumentation: the handler wrapped to time its
 * invocations and see which resources each carried, the processor's three steps (index, audit,
 * publish) timed by wrapping their classes' methods.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { Client } from '@opensearch-project/opensearch';
import { AuditLog } from '../../../core/audit/audit-log.js';
import { config } from '../../../core/config.js';
import { EventPublisher } from '../../../core/events/publisher.js';
import { openSearchClient } from '../../../core/search/opensearch/client.js';
import { type IndexChange, ResourceIndexer } from '../../../core/search/opensearch/indexer.js';
import { ensureIndex } from '../../../core/search/opensearch/mapping.js';
import { CURRENT_SK, parseResourcePK } from '../../../core/storage/keys.js';
import { localDynamoDbClient, localHandlerEnv } from '../../local/dynamodb-local.js';
import { startLocalMessaging } from '../../local/messaging.js';
import { startLocalOpenSearch } from '../../local/opensearch.js';
import type { StreamPoller } from '../../local/stream-poller.js';
import { type StreamLambda, startLocalStreamProcessing } from '../../local/stream-processing.js';
import { ensureLocalTable } from '../../local/table.js';
import { round } from '../stats.js';

/** The index the stream processor keeps in the child. */
export const INDEX = 'fhir-bench-stream';
/** The poller's default (scripts/local/stream-poller.ts); the part runs it with defaults. */
export const POLL_INTERVAL_MS = 200;
export const DRAIN_TIMEOUT_MS = 300_000;

export const progress = (message: string) => console.error(`stream: ${message}`);

export interface StreamStack {
  /** A client of the OpenSearch node, whose index `INDEX` the processor keeps. */
  readonly client: Client;
  readonly poller: StreamPoller;
  readonly openSearchStartSeconds: number;
  /** Stops the poller, deletes the table, stops OpenSearch and fauxqs. */
  stop(): Promise<void>;
}

/**
 * Starts the stack on a fresh table of DynamoDB Local at `endpoint`, setting the environment
 * before any handler resolves its configuration (core/config.ts caches it per process).
 */
export async function startStreamStack(endpoint: string): Promise<StreamStack> {
  const started = performance.now();
  const table = `fhir-bench-stream-${Date.now()}`;
  progress('starting a local OpenSearch node and fauxqs');
  const [openSearch, messaging] = await Promise.all([startLocalOpenSearch(), startLocalMessaging()]);
  const openSearchStartSeconds = round((performance.now() - started) / 1000);
  let poller: StreamPoller | undefined;
  const stop = async () => {
    await poller?.stop();
    const dynamodb = localDynamoDbClient(endpoint);
    await dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    dynamodb.destroy();
    await Promise.all([openSearch.stop(), messaging.stop()]);
  };
  try {
    Object.assign(process.env, localHandlerEnv(endpoint, table), messaging.env, { OPENSEARCH_URL: openSearch.url, OPENSEARCH_INDEX: INDEX });
    await ensureLocalTable(endpoint, table);
    const client = openSearchClient(config().openSearch!, config().region);
    await ensureIndex(client, INDEX);
    instrumentSteps();
    const { handler } = (await import('../../../functions/stream-processor.js')) as { handler: StreamLambda };
    poller = await startLocalStreamProcessing({ endpoint, tableName: table, handler: wrapHandler(handler) });
    return { client, poller, openSearchStartSeconds, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface Invocation {
  readonly start: number;
  readonly end: number;
  readonly records: number;
  readonly resourceRecords: number;
}

/** What the wrapped handler and the patched processor steps saw; reset per phase. */
class Meter {
  invocations: Invocation[] = [];
  steps = { index: 0, audit: 0, publish: 0 };
  /** `tenant/Type/id` → start of the first invocation with its CURRENT record. */
  readonly handlerStart = new Map<string, number>();
  /** `tenant/Type/id` → when the bulk request holding it returned. */
  readonly indexedAt = new Map<string, number>();
  /** Only the processor's own calls are timed (the audit load and the reindex use the same classes). */
  inHandler = 0;

  reset(): void {
    this.invocations = [];
    this.steps = { index: 0, audit: 0, publish: 0 };
    this.handlerStart.clear();
    this.indexedAt.clear();
  }
}

export const meter = new Meter();

function wrapHandler(handler: StreamLambda): StreamLambda {
  return async (event, context) => {
    const start = performance.now();
    let resourceRecords = 0;
    for (const record of event.Records) {
      const pk = record.dynamodb?.Keys?.PK?.S;
      const key = pk === undefined ? undefined : parseResourcePK(pk);
      if (key) {
        resourceRecords++;
        if (record.dynamodb?.Keys?.SK?.S === CURRENT_SK) {
          const ref = `${key.tenant}/${key.resourceType}/${key.id}`;
          if (!meter.handlerStart.has(ref)) {
            meter.handlerStart.set(ref, start);
          }
        }
      }
    }
    meter.inHandler++;
    try {
      return await handler(event, context);
    } finally {
      meter.inHandler--;
      meter.invocations.push({ start, end: performance.now(), records: event.Records.length, resourceRecords });
    }
  };
}

/** Times the processor's three steps by wrapping the classes' methods (one module instance per process). */
function instrumentSteps(): void {
  const timed = <T extends object>(prototype: T, method: keyof T & string, step: keyof Meter['steps'], after?: (args: unknown[]) => void) => {
    const original = prototype[method] as (...args: unknown[]) => Promise<unknown>;
    (prototype as Record<string, unknown>)[method] = async function (this: unknown, ...args: unknown[]) {
      if (meter.inHandler === 0) {
        return original.apply(this, args);
      }
      const started = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        meter.steps[step] += performance.now() - started;
        after?.(args);
      }
    };
  };
  timed(ResourceIndexer.prototype, 'apply', 'index', (args) => {
    const now = performance.now();
    for (const change of args[0] as IndexChange[]) {
      meter.indexedAt.set(`${change.tenant}/${change.resourceType}/${change.id}`, now);
    }
  });
  timed(AuditLog.prototype, 'recordMany', 'audit');
  timed(EventPublisher.prototype, 'publish', 'publish');
}

/** Wall-clock time covered by at least one interval. */
export function busyMs(intervals: readonly { start: number; end: number }[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let [from, to] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const { start, end } of sorted) {
    if (start > to) {
      total += to - from > 0 ? to - from : 0;
      [from, to] = [start, end];
    } else {
      to = Math.max(to, end);
    }
  }
  return total + (to - from > 0 ? to - from : 0);
}
