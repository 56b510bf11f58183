/**
 * `npm run load`: the reference FHIR workload (`../shared/tools/crud_load.py`: create, read,
 * update, search, then Synthea transaction Bundle ingest) against any FHIR base URL, with req/s
 * and p50/p95/p99 per phase; and, when it can reach the DynamoDB Local behind the server (the
 * running `npm start`, or --dynamodb-endpoint), that emulator's own capacity measured in the same
 * run, each phase printed as a share of the emulator's bound for the requests it needs.
 *
 *   npm run load -- [--url URL] [--n 400] [--c 8] [--tenant T] [--token JWT]
 *                   [--bundles DIR] [--bundle-c 4] [--max-bundles 33] [--no-ingest]
 *                   [--dynamodb-endpoint URL] [--no-emulator] [--probe-seconds 3]
 *
 * One JSON line per phase on stdout as it ends, then a table; progress on stderr.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { localStackToken, runningLocalStack } from '../cli/local-stack.js';
import { loadReportTable } from './bounds.js';
import { stackProcesses } from './process-cpu.js';
import { runLoad } from './run.js';
import { SYNTHEA_DIR } from './synthea.js';

const DEFAULT_URL = 'http://127.0.0.1:3000';
/** Everything the workload does: create, read, update and search Patients, and Bundles of any type. */
const LOAD_SCOPE = 'system/*.cruds';
const USAGE = `usage: npm run load -- [--url URL] [--n 400] [--c 8] [--tenant T] [--token JWT] [--bundles DIR] [--bundle-c 4]
                     [--max-bundles 33] [--no-ingest] [--dynamodb-endpoint URL] [--no-emulator] [--probe-seconds 3]

  --url URL                the FHIR base URL (default: the running \`npm start\`, else ${DEFAULT_URL})
  --n N                    operations per create/read/update/search phase (default 400)
  --c N                    concurrent requests in those phases (default 8)
  --tenant T               sent as X-Tenant-ID, and the tenant of a minted token (default: perf-<random>)
  --token JWT              sent as Authorization: Bearer (default: against the running \`npm start\` in
                           JWT mode, a token of its local issuer for --tenant)
  --bundles DIR            transaction Bundles (*.json) for the ingest phase (default ${SYNTHEA_DIR})
  --bundle-c N             Bundles in flight (default 4)
  --max-bundles N          (default 33)
  --no-ingest              skip the ingest phase
  --dynamodb-endpoint URL  the DynamoDB Local to measure (default: the running \`npm start\`'s)
  --no-emulator            do not measure DynamoDB Local
  --probe-seconds S        time per emulator request type (default 3)`;

function loadOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      n: { type: 'string', default: '400' },
      c: { type: 'string', default: '8' },
      tenant: { type: 'string', default: `perf-${randomUUID().slice(0, 8)}` },
      token: { type: 'string' },
      bundles: { type: 'string', default: SYNTHEA_DIR },
      'bundle-c': { type: 'string', default: '4' },
      'max-bundles': { type: 'string', default: '33' },
      'no-ingest': { type: 'boolean', default: false },
      'dynamodb-endpoint': { type: 'string' },
      'no-emulator': { type: 'boolean', default: false },
      'probe-seconds': { type: 'string', default: '3' },
    },
  });
  return values;
}

function positiveInteger(flag: string, value: string): number {
  if (!/^[1-9]\d*$/.test(value)) {
    throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(value)}\n${USAGE}`);
  }
  return Number(value);
}

async function main(args: string[]): Promise<void> {
  const values = loadOptions(args);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const stack = await runningLocalStack();
  const againstStack = values.url === undefined || values.url.replace(/\/$/, '') === stack?.apiUrl;
  const baseUrl = values.url ?? stack?.apiUrl ?? DEFAULT_URL;
  const concurrency = positiveInteger('--c', values.c);
  const token = values.token ?? (againstStack && stack ? await localStackToken(stack, { tenant: values.tenant, scope: LOAD_SCOPE, subject: 'npm-run-load' }) : undefined);
  const endpoint = values['no-emulator'] ? undefined : (values['dynamodb-endpoint'] ?? (againstStack ? stack?.settings.DYNAMODB_ENDPOINT : undefined));
  // The stack's processes are counted when the load goes to the stack on this machine.
  const processes = againstStack && stack ? stackProcesses(stack.pid) : undefined;
  console.error(`load: ${baseUrl}, tenant ${values.tenant}${token ? ', bearer token' : ''}; emulator: ${endpoint ?? 'not measured'}; CPU of ${processes ? processes.map((p) => `${p.name} ${p.pid}`).join(', ') : 'no process'}`);
  const report = await runLoad({
    baseUrl,
    n: positiveInteger('--n', values.n),
    concurrency,
    tenant: values.tenant,
    token,
    bundlesDir: values['no-ingest'] ? undefined : values.bundles,
    bundleConcurrency: positiveInteger('--bundle-c', values['bundle-c']),
    maxBundles: positiveInteger('--max-bundles', values['max-bundles']),
    emulatorEndpoint: endpoint,
    probeSeconds: positiveInteger('--probe-seconds', values['probe-seconds']),
    processes,
    progress: (figures) => console.log(JSON.stringify(figures)),
  });
  console.log(`\n${loadReportTable(report)}`);
  if (report.phases.some((phase) => phase.errors > 0)) {
    process.exitCode = 1;
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
