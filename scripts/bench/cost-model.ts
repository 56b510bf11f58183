/**
 * What one million requests of each interaction cost deployed, from the figures the interactions
 * part measured: the handler's CPU time, its DynamoDB requests and request units by AWS's rules
 * (capacity-proxy.ts) and the bytes it logs; and what the same would cost at the floor the
 * semantics allow, with the reason it is not there.
 *
 * List prices, us-east-1 (N. Virginia), x86 Lambda, DynamoDB on demand (Standard table class),
 * as published in 2025; no free tier.
 */
import type { InteractionFigures } from './interactions.js';
import { round } from './stats.js';

export const PRICES = {
  region: 'us-east-1',
  lambdaPerMillionRequests: 0.2,
  lambdaPerGbSecond: 0.0000166667,
  apiGatewayRestPerMillion: 3.5,
  dynamoDbPerMillionWriteUnits: 0.625,
  dynamoDbPerMillionReadUnits: 0.125,
  cloudWatchLogsPerGb: 0.5,
} as const;

/**
 * Lambda gives a function CPU in proportion to its memory, a whole vCPU at 1,769 MB: below that,
 * the CPU time measured here on one core stretches by 1,769 / memory.
 */
const FULL_VCPU_MB = 1769;
/** An assumed in-region DynamoDB round trip per request, in sequence (transactions: two phases). */
const ROUND_TRIP_MS: Record<string, number> = { TransactWriteItems: 8, default: 4 };

/** Where an interaction could go cheaper than it does, and why it does not. */
interface Floor {
  readonly requests: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly why: string;
}

/** Differences from what was measured, per interaction; absent: at the floor already. */
const ABOVE_FLOOR: Record<string, Floor> = {
  metadata: { requests: 0, readUnits: 0, writeUnits: 0, why: 'a Lambda invocation where an API Gateway mock or cached response could answer: it is built from the running configuration so it tells the truth' },
  create: {
    requests: 0,
    readUnits: 0,
    writeUnits: 2,
    why: 'the recent-changes overlay item (2 transactional WRU) buys read-your-writes while GSIs and the index lag; CURRENT and VERSION each carry the body, billed twice (transaction), so one read is one request',
  },
  read: { requests: 0, readUnits: 0, writeUnits: 0, why: 'at the floor: the audit write (1 WRU) is required before answering' },
  update: { requests: 1, readUnits: 1, writeUnits: 2, why: 'without If-Match the current version is read first (1 request, 1 RRU); the overlay item (2 WRU)' },
  'update If-Match': { requests: 0, readUnits: 0, writeUnits: 2, why: 'the overlay item (2 WRU)' },
  patch: { requests: 0, readUnits: 0, writeUnits: 2, why: 'the current version must be read to patch it; the overlay item (2 WRU)' },
  delete: { requests: 1, readUnits: 1, writeUnits: 2, why: 'without If-Match the current version is read first; the overlay item (2 WRU)' },
  'delete If-Match': { requests: 0, readUnits: 0, writeUnits: 2, why: 'the overlay item (2 WRU)' },
  search: {
    requests: 4,
    readUnits: 4,
    writeUnits: 0,
    why: 'the overlay: 4 strongly consistent shard Queries (1 RRU each at least) and a read of every write not yet indexed make every write visible (no stream processor runs in this part, so here that is every Patient written before)',
  },
  'type history': { requests: 0, readUnits: 0, writeUnits: 0, why: 'at the floor: index keys, then the versions, then the audit' },
};

export interface CostRow {
  readonly name: string;
  readonly memoryMB: number;
  readonly cpuMs: number;
  readonly billedMs: number;
  readonly requests: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly indexWriteUnits: number;
  readonly logBytes: number;
  /** Dollars per million requests: Lambda, DynamoDB, API Gateway, logs, and their sum. */
  readonly lambda: number;
  readonly dynamodb: number;
  readonly total: number;
  readonly floorTotal: number;
  readonly floorRequests: number;
  readonly why: string;
}

export function costRows(interactions: readonly InteractionFigures[]): CostRow[] {
  return interactions.flatMap((figures) => {
    if (!figures.aws) {
      return [];
    }
    const { operations, readRequestUnits, writeRequestUnits, indexWriteUnits } = figures.aws;
    const requests = Object.values(operations).reduce((sum, n) => sum + n, 0);
    const waitMs = Object.entries(operations).reduce((sum, [operation, n]) => sum + n * (ROUND_TRIP_MS[operation] ?? ROUND_TRIP_MS.default!), 0);
    const cpuScale = Math.max(1, FULL_VCPU_MB / figures.memoryMB);
    const billedMs = Math.ceil(figures.cpuMs.p50 * cpuScale + waitMs);
    const lambda = PRICES.lambdaPerMillionRequests + billedMs / 1000 * (figures.memoryMB / 1024) * PRICES.lambdaPerGbSecond * 1e6;
    const dynamodb = (readRequestUnits * PRICES.dynamoDbPerMillionReadUnits + writeRequestUnits * PRICES.dynamoDbPerMillionWriteUnits);
    const logs = (figures.logBytes / 1024 ** 3) * PRICES.cloudWatchLogsPerGb * 1e6;
    const total = lambda + dynamodb + PRICES.apiGatewayRestPerMillion + logs;
    const floor = ABOVE_FLOOR[figures.name] ?? { requests: 0, readUnits: 0, writeUnits: 0, why: 'at the floor' };
    const floorWaitMs = floor.requests * ROUND_TRIP_MS.default!;
    const floorLambda = PRICES.lambdaPerMillionRequests + Math.max(0, billedMs - floorWaitMs) / 1000 * (figures.memoryMB / 1024) * PRICES.lambdaPerGbSecond * 1e6;
    const floorDynamodb = Math.max(0, readRequestUnits - floor.readUnits) * PRICES.dynamoDbPerMillionReadUnits + Math.max(0, writeRequestUnits - floor.writeUnits) * PRICES.dynamoDbPerMillionWriteUnits;
    // The metadata floor has no Lambda at all.
    const floorTotal = (figures.name === 'metadata' ? 0 : floorLambda + floorDynamodb + logs) + PRICES.apiGatewayRestPerMillion;
    return [
      {
        name: figures.name,
        memoryMB: figures.memoryMB,
        cpuMs: figures.cpuMs.p50,
        billedMs,
        requests: round(requests),
        readUnits: readRequestUnits,
        writeUnits: writeRequestUnits,
        indexWriteUnits,
        logBytes: figures.logBytes,
        lambda: round(lambda),
        dynamodb: round(dynamodb),
        total: round(total),
        floorTotal: round(floorTotal),
        floorRequests: round(Math.max(0, requests - floor.requests)),
        why: floor.why,
      },
    ];
  });
}

export function costTable(rows: readonly CostRow[], table: (rows: readonly (readonly (string | number)[])[]) => string): string {
  return [
    `Cost per million requests, list prices ${PRICES.region}: Lambda x86 $${PRICES.lambdaPerMillionRequests}/M + $${PRICES.lambdaPerGbSecond}/GB-s, ` +
      `DynamoDB on demand $${PRICES.dynamoDbPerMillionWriteUnits}/M WRU, $${PRICES.dynamoDbPerMillionReadUnits}/M RRU, API Gateway REST $${PRICES.apiGatewayRestPerMillion}/M, ` +
      `CloudWatch Logs $${PRICES.cloudWatchLogsPerGb}/GB. Billed ms = CPU p50 × max(1, ${FULL_VCPU_MB} MB / memory) + ${ROUND_TRIP_MS.default} ms per DynamoDB request (${ROUND_TRIP_MS.TransactWriteItems} for a transaction), in sequence.`,
    table([
      ['interaction', 'MB', 'CPU ms', 'billed ms', 'requests', 'RRU', 'WRU', 'of which GSI', 'log B', 'Lambda $', 'DynamoDB $', 'total $/M', 'floor $/M', 'floor requests', 'why not at the floor'],
      ...rows.map((row) => [
        row.name,
        row.memoryMB,
        row.cpuMs,
        row.billedMs,
        row.requests,
        row.readUnits,
        row.writeUnits,
        row.indexWriteUnits,
        row.logBytes,
        row.lambda,
        row.dynamodb,
        row.total,
        row.floorTotal,
        row.floorRequests,
        row.why,
      ]),
    ]),
  ].join('\n');
}
