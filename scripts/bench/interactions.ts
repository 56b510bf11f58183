/**
 * Part 2: each FHIR interaction, many times in this process against DynamoDB Local, with its
 * latency and the DynamoDB requests and capacity it costs. Bodies are a real Synthea Patient.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import type { DynamoUsage } from '../../core/storage/dynamo-client.js';
import type { AwsCapacity, CapacityProxy } from './capacity-proxy.js';
import { type BenchRequest, type Invocation, type MeteredApi, startMeteredApi } from './metered-api.js';
import { mean, round, type Summary, summarize } from './stats.js';

export interface InteractionFigures {
  readonly name: string;
  /** The API Gateway route that served it. */
  readonly route: string;
  readonly module: string;
  readonly latencyMs: Summary;
  /** CPU time of the handler (and its SDK clients) per call. */
  readonly cpuMs: Summary;
  /** The function's configured memory (functions/routes.ts). */
  readonly memoryMB: number;
  /** Bytes the handler logged per call, mean (CloudWatch Logs ingests them). */
  readonly logBytes: number;
  /** Mean per call. */
  readonly dynamodb: DynamoUsage;
  /** Request units by AWS's rules (capacity-proxy.ts), mean per call. */
  readonly aws?: AwsCapacity;
  /** The ceiling on DynamoDB requests per call, where it sets one. */
  readonly maxRequestsTarget?: number;
}

export interface InteractionsResult {
  readonly figures: InteractionFigures[];
  /** The last call of each interaction, to replay in fresh processes. */
  readonly samples: ReadonlyMap<string, Invocation>;
}

interface Setup {
  readonly api: MeteredApi;
  readonly patient: Patient;
  /** Calls to be made, warm-up included. */
  readonly calls: number;
}

interface Interaction {
  readonly name: string;
  readonly status: number;
  readonly maxRequestsTarget?: number;
  /** Creates what the calls need; returns the request of call `i`. */
  prepare(setup: Setup): Promise<(i: number) => BenchRequest>;
}

/** Versions given to the resource whose instance history is read: more than one page. */
const HISTORY_VERSIONS = 25;
const PAGE = 20;

const INTERACTIONS: readonly Interaction[] = [
  { name: 'metadata', status: 200, prepare: async () => () => ({ method: 'GET', path: '/metadata' }) },
  { name: 'create', status: 201, maxRequestsTarget: 1, prepare: async ({ patient }) => () => ({ method: 'POST', path: '/Patient', body: patient }) },
  {
    name: 'read',
    status: 200,
    maxRequestsTarget: 1,
    prepare: async ({ api, patient }) => {
      const id = await createPatient(api, patient);
      return () => ({ method: 'GET', path: `/Patient/${id}` });
    },
  },
  {
    name: 'vread',
    status: 200,
    prepare: async ({ api, patient }) => {
      const id = await createPatient(api, patient);
      return () => ({ method: 'GET', path: `/Patient/${id}/_history/1` });
    },
  },
  {
    name: 'update If-Match',
    status: 200,
    maxRequestsTarget: 1,
    prepare: async ({ api, patient }) => {
      const id = await createPatient(api, patient);
      // Call i finds version i + 1 current.
      return (i) => ({ ...updateRequest(patient, id, i), headers: { 'If-Match': `W/"${i + 1}"` } });
    },
  },
  {
    name: 'update',
    status: 200,
    maxRequestsTarget: 2,
    prepare: async ({ api, patient }) => {
      const id = await createPatient(api, patient);
      return (i) => updateRequest(patient, id, i);
    },
  },
  {
    name: 'patch',
    status: 200,
    prepare: async ({ api, patient }) => {
      const id = await createPatient(api, patient);
      return (i) => ({
        method: 'PATCH',
        path: `/Patient/${id}`,
        body: [{ op: 'add', path: '/active', value: i % 2 === 0 }],
        headers: { 'Content-Type': 'application/json-patch+json' },
      });
    },
  },
  {
    name: 'delete If-Match',
    status: 204,
    maxRequestsTarget: 1,
    prepare: async ({ api, patient, calls }) => {
      const ids = await createPatients(api, patient, calls);
      return (i) => ({ method: 'DELETE', path: `/Patient/${ids[i]}`, headers: { 'If-Match': 'W/"1"' } });
    },
  },
  {
    name: 'delete',
    status: 204,
    maxRequestsTarget: 2,
    prepare: async ({ api, patient, calls }) => {
      const ids = await createPatients(api, patient, calls);
      return (i) => ({ method: 'DELETE', path: `/Patient/${ids[i]}` });
    },
  },
  {
    name: 'instance history',
    status: 200,
    prepare: async ({ api, patient }) => {
      const id = await createPatient(api, patient);
      for (let i = 0; i < HISTORY_VERSIONS - 1; i++) {
        await expectStatus(api, updateRequest(patient, id, i), 200);
      }
      return () => ({ method: 'GET', path: `/Patient/${id}/_history?_count=${PAGE}` });
    },
  },
  // The earlier interactions have left hundreds of Patients and versions behind.
  { name: 'type history', status: 200, prepare: async () => () => ({ method: 'GET', path: `/Patient/_history?_count=${PAGE}` }) },
  { name: 'search', status: 200, prepare: async () => () => ({ method: 'GET', path: `/Patient?_count=${PAGE}` }) },
  { name: '$validate', status: 200, prepare: async ({ patient }) => () => ({ method: 'POST', path: '/Patient/$validate', body: patient }) },
];

export interface InteractionsOptions {
  /** Synthea R4 transaction Bundles, one per patient. */
  readonly syntheaDir: string;
  readonly warmup: number;
  readonly iterations: number;
  /** Counts request units by AWS's rules in front of DynamoDB. */
  readonly capacity?: CapacityProxy;
}

/** Runs every interaction `warmup + iterations` times; only the last `iterations` are measured. */
export async function benchInteractions({ syntheaDir, warmup, iterations, capacity }: InteractionsOptions): Promise<InteractionsResult> {
  const patient = await syntheaPatient(syntheaDir);
  const api = await startMeteredApi(capacity);
  try {
    const figures: InteractionFigures[] = [];
    const samples = new Map<string, Invocation>();
    for (const interaction of INTERACTIONS) {
      console.error(`interaction ${interaction.name}: ${warmup} warm-up + ${iterations} calls`);
      const calls = await runInteraction(api, interaction, patient, warmup, iterations);
      figures.push(interactionFigures(interaction, calls));
      samples.set(interaction.name, calls[calls.length - 1]!);
    }
    return { figures, samples };
  } finally {
    await api.close();
  }
}

async function runInteraction(api: MeteredApi, interaction: Interaction, patient: Patient, warmup: number, iterations: number): Promise<Invocation[]> {
  const requestOf = await interaction.prepare({ api, patient, calls: warmup + iterations });
  const measured: Invocation[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const invocation = await expectStatus(api, requestOf(i), interaction.status);
    if (i >= warmup) {
      measured.push(invocation);
    }
  }
  return measured;
}

function interactionFigures(interaction: Interaction, calls: readonly Invocation[]): InteractionFigures {
  const { event, module, context } = calls[0]!;
  const aws = calls.flatMap((call) => (call.aws ? [call.aws] : []));
  return {
    name: interaction.name,
    route: `${event.httpMethod} ${event.resource}`,
    module,
    latencyMs: summarize(calls.map((call) => call.handlerMs)),
    cpuMs: summarize(calls.map((call) => call.cpuMs)),
    memoryMB: Number(context.memoryLimitInMB),
    logBytes: Math.round(mean(calls.map((call) => call.log.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0)))),
    dynamodb: meanUsage(calls.map((call) => call.dynamodb)),
    ...(aws.length === calls.length ? { aws: meanCapacity(aws) } : {}),
    ...(interaction.maxRequestsTarget === undefined ? {} : { maxRequestsTarget: interaction.maxRequestsTarget }),
  };
}

function meanUsage(usages: readonly DynamoUsage[]): DynamoUsage {
  const operations = new Set(usages.flatMap((usage) => Object.keys(usage.operations)));
  return {
    requests: round(mean(usages.map((usage) => usage.requests))),
    readCapacityUnits: round(mean(usages.map((usage) => usage.readCapacityUnits))),
    writeCapacityUnits: round(mean(usages.map((usage) => usage.writeCapacityUnits))),
    itemsRead: round(mean(usages.map((usage) => usage.itemsRead))),
    operations: Object.fromEntries([...operations].map((name) => [name, round(mean(usages.map((usage) => usage.operations[name] ?? 0)))])),
  };
}

function meanCapacity(usages: readonly AwsCapacity[]): AwsCapacity {
  const operations = new Set(usages.flatMap((usage) => Object.keys(usage.operations)));
  return {
    operations: Object.fromEntries([...operations].map((name) => [name, round(mean(usages.map((usage) => usage.operations[name] ?? 0)))])),
    readRequestUnits: round(mean(usages.map((usage) => usage.readRequestUnits))),
    writeRequestUnits: round(mean(usages.map((usage) => usage.writeRequestUnits))),
    indexWriteUnits: round(mean(usages.map((usage) => usage.indexWriteUnits))),
  };
}

/** The Patient of the first Synthea Bundle, without its id, as a client would create it. */
async function syntheaPatient(dir: string): Promise<Patient> {
  const [file] = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  if (!file) {
    throw new Error(`No Synthea Bundles (*.json) in ${dir}`);
  }
  const bundle = JSON.parse(await readFile(join(dir, file), 'utf8')) as Bundle;
  const entry = bundle.entry?.find((candidate) => candidate.resource?.resourceType === 'Patient');
  if (!entry) {
    throw new Error(`${file} holds no Patient`);
  }
  const patient = { ...(entry.resource as Patient) };
  delete patient.id;
  return patient;
}

/** A full-resource update that changes one element, so every call writes a different version. */
function updateRequest(patient: Patient, id: string, i: number): BenchRequest {
  return { method: 'PUT', path: `/Patient/${id}`, body: { ...patient, id, active: i % 2 === 0 } };
}

async function createPatient(api: MeteredApi, patient: Patient): Promise<string> {
  const created = await expectStatus(api, { method: 'POST', path: '/Patient', body: patient }, 201);
  return (JSON.parse(created.result.body) as Patient).id!;
}

async function createPatients(api: MeteredApi, patient: Patient, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(await createPatient(api, patient));
  }
  return ids;
}

/** A benchmark of failing requests measures nothing: stop with what the handler said. */
async function expectStatus(api: MeteredApi, request: BenchRequest, status: number): Promise<Invocation> {
  const invocation = await api.send(request);
  if (invocation.result.statusCode !== status) {
    throw new Error(
      `${request.method} ${request.path}: expected HTTP ${status}, got ${invocation.result.statusCode}: ${invocation.result.body.slice(0, 2000)}\n${invocation.log.join('\n')}`,
    );
  }
  return invocation;
}
