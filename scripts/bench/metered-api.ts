/**
 * The handlers, called in this process through the local API (`scripts/local/http-server.ts`), so
 * that they receive exactly the API Gateway proxy events `npm start` and the tests give them.
 * Each call is timed around the handler alone (the HTTP hop is not counted), and its DynamoDB
 * usage is read from the handler's own request log line: the handler resets the process meter
 * (`dynamoUsage`) as it logs, so that line is where the per-request figures survive. Given a
 * capacity proxy (capacity-proxy.ts) in front of DynamoDB, each call also gets the request units
 * AWS would bill, and the process CPU time the handler took.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { DynamoUsage } from '../../core/storage/dynamo-client.js';
import { importHandler, type LambdaHandler, startLocalApi } from '../local/http-server.js';
import type { AwsCapacity, CapacityProxy } from './capacity-proxy.js';

export interface BenchRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface Invocation {
  /** The handler's module under `functions/`. */
  readonly module: string;
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
  readonly result: APIGatewayProxyResult;
  readonly handlerMs: number;
  /** CPU time of this process during the call: the handler's and its SDK clients'. */
  readonly cpuMs: number;
  readonly dynamodb: DynamoUsage;
  /** Request units by AWS's rules, when a capacity proxy counts them. */
  readonly aws?: AwsCapacity;
  /** What the handler logged during the call. */
  readonly log: readonly string[];
}

export interface MeteredApi {
  send(request: BenchRequest): Promise<Invocation>;
  close(): Promise<void>;
}

/** Local-dev auth mode takes the tenant from this header. */
const TENANT_HEADERS = { 'X-Tenant-ID': 'bench' };

/**
 * Starts the local API on a free port. Until `close`, stdout is captured: the handlers and the
 * server log a JSON line per request, which would bury the benchmark's output.
 */
export async function startMeteredApi(capacity?: CapacityProxy): Promise<MeteredApi> {
  const stdout = captureStdout();
  let last: Invocation | undefined;
  const loadHandler = async (module: string): Promise<LambdaHandler> => {
    const handler = await importHandler(module);
    return async (event, context) => {
      await capacity?.take();
      stdout.clear();
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = await handler(event, context);
      const handlerMs = performance.now() - started;
      const { user, system } = process.cpuUsage(cpu);
      const log = stdout.lines();
      const aws = await capacity?.take();
      last = { module, event, context, result, handlerMs, cpuMs: (user + system) / 1000, dynamodb: requestLogUsage(log, module), ...(aws ? { aws } : {}), log };
      return result;
    };
  };
  const api = await startLocalApi({ loadHandler }).catch((error: unknown) => {
    stdout.restore();
    throw error;
  });
  return {
    async send(request) {
      last = undefined;
      const response = await fetch(api.baseUrl + request.path, {
        method: request.method,
        headers: { 'Content-Type': 'application/fhir+json', ...TENANT_HEADERS, ...request.headers },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
      });
      // Drained so the connection is free for the next request.
      await response.arrayBuffer();
      if (!last) {
        throw new Error(`${request.method} ${request.path} returned no handler result (HTTP ${response.status})`);
      }
      return last;
    },
    async close() {
      await api.close();
      stdout.restore();
    },
  };
}

/** The DynamoDB usage in a handler's request log line (`functions/lib/api-handler.ts`). */
function requestLogUsage(log: readonly string[], module: string): DynamoUsage {
  for (const line of log) {
    const entry = parseJsonLine(line) as { message?: string; dynamodb?: DynamoUsage } | undefined;
    if (entry?.message === 'request' && entry.dynamodb) {
      return entry.dynamodb;
    }
  }
  throw new Error(`functions/${module}.ts logged no request line with DynamoDB usage:\n${log.join('\n')}`);
}

function parseJsonLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

interface CapturedStdout {
  clear(): void;
  lines(): string[];
  restore(): void;
}

function captureStdout(): CapturedStdout {
  const write = process.stdout.write;
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  return {
    clear: () => {
      text = '';
    },
    lines: () => text.split('\n').filter((line) => line.trim() !== ''),
    restore: () => {
      process.stdout.write = write;
    },
  };
}
