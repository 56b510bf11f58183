/**
 * The route table: the whole REST surface in one list. `infra/` turns it into API Gateway
 * routes and Lambda functions; the local server (`scripts/local/`) routes with it too.
 *
 * Paths use API Gateway REST syntax. API Gateway allows only one variable child per path level
 * and no `$` in static parts, so `POST /{resourceType}/{id}` carries type-level operations
 * (`$validate`) and `POST /{resourceType}/{id}/{operation}` instance-level ones, while
 * `GET /{resourceType}/{id}/{operation}` is compartment search (`GET /Patient/123/Observation`).
 *
 * Bulk Data `$export` kick-offs arrive on those same variable routes (`GET /$export` on
 * `GET /{resourceType}`, `GET /Patient/$export` on `GET /{resourceType}/{id}`, …), so the functions
 * behind them serve the export interaction of their shape and bring the export queue driver; the
 * status URL `/_export/{id}` has static routes to the export function.
 */
import type { Interaction } from '../core/fhir/routes.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface FunctionSpec {
  /** Module under `functions/` exporting `handler`. */
  readonly module: string;
  readonly memoryMB: number;
  readonly timeoutSeconds: number;
}

/** A function behind API routes. */
export interface ApiFunctionSpec extends FunctionSpec {
  /**
   * The FHIR interactions (core/fhir/routes.ts) its routes can carry; the function refuses any
   * other. API Gateway matches only path shapes, so e.g. `GET /Patient/$x` reaches the read
   * function as an unknown operation.
   */
  readonly interactions: readonly Interaction[];
}

export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  readonly function: ApiFunctionSpec;
  /** Reachable without a token; every other route passes the Lambda authorizer first. */
  readonly public?: true;
}

// Memory / timeout: the architecture documents' seeds, more for the Bundle function.
export const FUNCTIONS = {
  metadata: { module: 'metadata', memoryMB: 512, timeoutSeconds: 10, interactions: ['capabilities'] },
  // Not a FHIR interaction: SMART discovery (functions/smart-configuration.ts), outside the router.
  smartConfiguration: { module: 'smart-configuration', memoryMB: 256, timeoutSeconds: 10, interactions: [] },
  create: { module: 'create', memoryMB: 1024, timeoutSeconds: 30, interactions: ['create', 'validate', 'export-system', 'analytics-run', 'unknown-operation'] },
  read: { module: 'read', memoryMB: 512, timeoutSeconds: 10, interactions: ['read', 'export-patient', 'unknown-operation'] },
  vread: { module: 'vread', memoryMB: 512, timeoutSeconds: 10, interactions: ['vread'] },
  update: { module: 'update', memoryMB: 1024, timeoutSeconds: 30, interactions: ['update', 'conditional-update'] },
  patch: { module: 'patch', memoryMB: 1024, timeoutSeconds: 30, interactions: ['patch', 'conditional-patch'] },
  delete: { module: 'delete', memoryMB: 512, timeoutSeconds: 10, interactions: ['delete', 'conditional-delete'] },
  history: { module: 'history', memoryMB: 512, timeoutSeconds: 30, interactions: ['history-type', 'history-instance'] },
  search: {
    module: 'search',
    memoryMB: 2048,
    timeoutSeconds: 30,
    interactions: ['search-type', 'search-system', 'search-compartment', 'export-system', 'export-group', 'analytics-report', 'unknown-operation'],
  },
  validate: { module: 'validate', memoryMB: 1024, timeoutSeconds: 30, interactions: ['validate', 'export-patient', 'export-group', 'unknown-operation'] },
  // Bulk Data status polls (presigned manifest URLs) and cancels.
  export: { module: 'export', memoryMB: 512, timeoutSeconds: 30, interactions: ['export-status', 'export-cancel'] },
  // Up to 1,000 entries, each validated, searched and read: more memory (hence CPU) and time.
  bundle: { module: 'bundle', memoryMB: 2048, timeoutSeconds: 60, interactions: ['batch'] },
} as const satisfies Record<string, ApiFunctionSpec>;

/** The Lambda TOKEN authorizer, whose answer API Gateway keeps for a token `cacheSeconds`. */
export interface AuthorizerSpec extends FunctionSpec {
  readonly cacheSeconds: number;
}

/** Not a route: the Lambda TOKEN authorizer in front of every non-public route (infra/api.ts, the local server). */
export const AUTHORIZER = { module: 'authorizer', memoryMB: 512, timeoutSeconds: 10, cacheSeconds: 300 } as const satisfies AuthorizerSpec;

/**
 * Not a route: the consumer of the table's stream (infra/stream.ts, the local stream poller).
 * `batchSize`: stream records per invocation. A change is ~6 records (CURRENT, VERSION, the
 * recent-change item, its audit record…) and each batch costs a few sequential round trips
 * (bulk index, audit writes, publish), so small batches leave indexing — and with it every
 * search's read-your-writes overlay — behind a write burst; 1,000 is GetRecords' own maximum.
 */
export const STREAM_PROCESSOR = { module: 'stream-processor', memoryMB: 512, timeoutSeconds: 60, batchSize: 1000 } as const satisfies FunctionSpec & { batchSize: number };

/**
 * Not a route: the export worker, fed by the export queue (infra/export.ts; locally
 * scripts/local/export-worker.ts). Near its timeout it saves its chunk's progress and queues the rest.
 */
export const EXPORT_WORKER = {
  module: 'export-worker',
  memoryMB: 2048,
  timeoutSeconds: 900,
  /** Deliveries of one message before the queue dead-letters it; the last failed attempt fails the export instead. */
  maxReceiveCount: 5,
} as const satisfies FunctionSpec & { maxReceiveCount: number };

/**
 * Not a route: the analytics run (infra/analytics.ts): on the schedule for every tenant with
 * data, or invoked for one tenant by `POST /$analytics` (which arrives, like every `$` operation
 * at the base, on `POST /{resourceType}`: the create function starts the run, and `GET
 * /$analytics` is the search function's). Batch work: the architecture's 3008 MB / 900 s.
 */
export const ANALYTICS = { module: 'analytics', memoryMB: 3008, timeoutSeconds: 900 } as const satisfies FunctionSpec;

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/metadata', function: FUNCTIONS.metadata, public: true },
  { method: 'GET', path: '/.well-known/smart-configuration', function: FUNCTIONS.smartConfiguration, public: true },
  { method: 'GET', path: '/', function: FUNCTIONS.search },
  { method: 'POST', path: '/', function: FUNCTIONS.bundle },
  { method: 'GET', path: '/{resourceType}', function: FUNCTIONS.search },
  { method: 'POST', path: '/{resourceType}', function: FUNCTIONS.create },
  { method: 'PUT', path: '/{resourceType}', function: FUNCTIONS.update },
  { method: 'PATCH', path: '/{resourceType}', function: FUNCTIONS.patch },
  { method: 'DELETE', path: '/{resourceType}', function: FUNCTIONS.delete },
  { method: 'GET', path: '/{resourceType}/_history', function: FUNCTIONS.history },
  { method: 'GET', path: '/_export/{id}', function: FUNCTIONS.export },
  { method: 'DELETE', path: '/_export/{id}', function: FUNCTIONS.export },
  { method: 'POST', path: '/{resourceType}/_search', function: FUNCTIONS.search },
  { method: 'POST', path: '/{resourceType}/{id}', function: FUNCTIONS.validate },
  { method: 'GET', path: '/{resourceType}/{id}', function: FUNCTIONS.read },
  { method: 'PUT', path: '/{resourceType}/{id}', function: FUNCTIONS.update },
  { method: 'PATCH', path: '/{resourceType}/{id}', function: FUNCTIONS.patch },
  { method: 'DELETE', path: '/{resourceType}/{id}', function: FUNCTIONS.delete },
  { method: 'POST', path: '/{resourceType}/{id}/{operation}', function: FUNCTIONS.validate },
  { method: 'GET', path: '/{resourceType}/{id}/{operation}', function: FUNCTIONS.search },
  { method: 'GET', path: '/{resourceType}/{id}/_history', function: FUNCTIONS.history },
  { method: 'GET', path: '/{resourceType}/{id}/_history/{versionId}', function: FUNCTIONS.vread },
];
