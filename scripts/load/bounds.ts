/**
 * What DynamoDB Local alone could serve each load phase: the requests one operation of the phase
 * needs at the floor (those the handlers make, scripts/bench/interactions.ts), priced at the
 * emulator's measured rate for each. A phase needing a GetItem (1 / g s) and a PutItem (1 / p s)
 * is bounded by 1 / (1/g + 1/p) operations per second; ingest by the BatchWriteItem item rate
 * divided by the items a new resource needs.
 */
import { textTable } from '../bench/text-table.js';
import { round } from '../bench/stats.js';
import type { EmulatorCapacity, Probe } from './emulator-capacity.js';
import type { PhaseFigures } from './workload.js';

/** The DynamoDB requests one operation of each phase needs. */
export const PHASE_REQUESTS: Record<Exclude<PhaseFigures['phase'], 'ingest'>, readonly Probe[]> = {
  // One conditional TransactWriteItems (CURRENT + VERSION).
  create: ['TransactWriteItems'],
  // The CURRENT item, then the access's audit record.
  read: ['GetItem', 'PutItem'],
  // The state written against, then the conditional write.
  update: ['GetItem', 'TransactWriteItems'],
  // The table engine: a page of index keys, their CURRENT items, the audit record. (The OpenSearch
  // engine replaces the first two by one OpenSearch request.)
  search: ['Query', 'BatchGetItem', 'PutItem'],
};

/** HAPI FHIR 8.8 JPA on PostgreSQL on this 2-core machine with the reference client (the brief, section 10). */
export const HAPI_REFERENCE: Record<PhaseFigures['phase'], number> = { create: 130, read: 306, update: 111, search: 71, ingest: 343 };

export interface PhaseBound {
  /** Operations (ingest: resources) per second the emulator could serve the phase. */
  readonly perSecond: number;
  /** DynamoDB Local's CPU milliseconds for those requests, when its process was measured. */
  readonly emulatorCpuMs?: number;
  readonly requests: string;
}

export type LoadBounds = Record<PhaseFigures['phase'], PhaseBound>;

export function loadBounds(emulator: EmulatorCapacity): LoadBounds {
  const rate = new Map(emulator.probes.map((probe) => [probe.probe, probe]));
  const of = (probe: Probe) => {
    const figures = rate.get(probe);
    if (!figures) {
      throw new Error(`The emulator's ${probe} rate was not measured`);
    }
    return figures;
  };
  const emulatorCpuMs = (probe: Probe) => of(probe).cpuMsPerRequest?.['dynamodb-local'];
  const serial = (requests: readonly Probe[]): PhaseBound => {
    const cpu = requests.map(emulatorCpuMs);
    return {
      perSecond: round(1 / requests.reduce((seconds, probe) => seconds + 1 / of(probe).requestsPerSecond, 0)),
      ...(cpu.every((ms) => ms !== undefined) ? { emulatorCpuMs: round(cpu.reduce((sum, ms) => sum + ms, 0)) } : {}),
      requests: requests.join(' + '),
    };
  };
  const batchWriteCpuMs = emulatorCpuMs('BatchWriteItem');
  return {
    create: serial(PHASE_REQUESTS.create),
    read: serial(PHASE_REQUESTS.read),
    update: serial(PHASE_REQUESTS.update),
    search: serial(PHASE_REQUESTS.search),
    ingest: {
      perSecond: round(of('BatchWriteItem').itemsPerSecond / emulator.itemsPerNewResource),
      ...(batchWriteCpuMs === undefined ? {} : { emulatorCpuMs: round((batchWriteCpuMs * emulator.itemsPerNewResource) / 25) }),
      requests: `BatchWriteItem, ${emulator.itemsPerNewResource} items a resource`,
    },
  };
}

export interface LoadReport {
  readonly baseUrl: string;
  readonly phases: readonly PhaseFigures[];
  readonly emulator?: EmulatorCapacity;
  readonly bounds?: LoadBounds;
}

/** The phases beside the emulator's bound and HAPI's reference figures; then the emulator's rates. */
export function loadReportTable(report: LoadReport): string {
  const phases = textTable([
    ['phase', 'n', 'errors', 'req/s', 'res/s', 'p50 ms', 'p95 ms', 'p99 ms', 'emulator bound /s', '÷ bound', 'HAPI /s', '÷ HAPI', 'bound: requests'],
    ...report.phases.map((phase) => {
      const achieved = phase.resourcesPerSecond ?? phase.rps;
      const bound = report.bounds?.[phase.phase];
      return [
        phase.phase,
        phase.n,
        phase.errors,
        phase.rps,
        phase.resourcesPerSecond ?? '',
        phase.p50Ms,
        phase.p95Ms,
        phase.p99Ms,
        bound?.perSecond ?? '',
        bound ? round(achieved / bound.perSecond) : '',
        HAPI_REFERENCE[phase.phase],
        round(achieved / HAPI_REFERENCE[phase.phase]),
        bound?.requests ?? '',
      ];
    }),
  ]);
  const measured = report.phases.filter((phase) => phase.cpuMsPerOperation);
  const cpu = measured.length === 0
    ? []
    : [
        '\nCPU milliseconds per operation (ingest: per resource), by process; emulator needs: DynamoDB Local\'s CPU for the bound\'s requests',
        textTable([
          ['phase', 'server total', 'stack (node)', 'dynamodb-local', 'opensearch', 'load client', 'emulator needs', '÷ server total', '2 cores ÷ server total /s'],
          ...measured.map((phase) => {
            const spent = phase.cpuMsPerOperation!;
            const server = round(spent.total! - (spent['load client'] ?? 0));
            const needs = report.bounds?.[phase.phase].emulatorCpuMs;
            return [phase.phase, server, spent.stack ?? '', spent['dynamodb-local'] ?? '', spent.opensearch ?? '', spent['load client'] ?? '', needs ?? '', needs === undefined ? '' : round(needs / server), round(2000 / server)];
          }),
        ]),
      ];
  const notes = report.phases.flatMap((phase) => [
    ...(phase.fullPages === undefined ? [] : [`search: ${phase.fullPages} of ${phase.n} pages full right after the writes`]),
    ...phase.failures.map((failure) => `${phase.phase} FAILED: ${failure}`),
  ]);
  const emulator = report.emulator
    ? `\nDynamoDB Local alone, ${report.emulator.concurrency} concurrent, ${report.emulator.secondsPerProbe} s each\n${textTable([
        ['request', 'requests/s', 'items/s', 'CPU ms/request: emulator', 'client', 'each'],
        ...report.emulator.probes.map((probe) => [
          probe.probe,
          probe.requestsPerSecond,
          probe.itemsPerSecond,
          probe.cpuMsPerRequest?.['dynamodb-local'] ?? '',
          probe.cpuMsPerRequest?.['load client'] ?? '',
          probe.shape,
        ]),
      ])}`
    : '\nDynamoDB Local not measured (no running `npm start` behind --url, no --dynamodb-endpoint)';
  return [`Load against ${report.baseUrl} (ingest: resources/s)`, phases, ...notes, ...cpu, emulator].join('\n');
}
