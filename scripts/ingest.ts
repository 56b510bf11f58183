/**
 * `npm run ingest`: loads a folder of FHIR transaction Bundles (`*.json`, one transaction per
 * file) or Bulk Data NDJSON (`*.ndjson`, chunked into transactions of `PUT Type/id`) into a
 * running server through `POST /`, resumably. Exits 1 when anything failed.
 */
import { parseArgs } from 'node:util';
import { localStackToken, runningLocalStack } from './cli/local-stack.js';
import { DEFAULT_CHUNK_SIZE, DEFAULT_CONCURRENCY, DEFAULT_STATE_FILE, ingest, type IngestOptions } from './ingest/ingest.js';
import { formatSummary } from './ingest/report.js';

/** `npm start`'s default address, for a server started without announcing itself. */
const DEFAULT_URL = 'http://127.0.0.1:3000';
/** What an ingest needs of a server: to create, update and (for conditional references) search any type. */
const INGEST_SCOPE = 'system/*.cruds';
const USAGE = `usage: npm run ingest -- <folder> [--url URL] [--tenant T] [--token JWT] [--concurrency N] [--chunk-size N] [--state FILE] [--restart]

Loads a folder of transaction Bundles (*.json) or Bulk Data NDJSON (*.ndjson) through POST /.

  --url URL          the FHIR server's base URL (default: the running \`npm start\` on this
                     machine, else ${DEFAULT_URL})
  --tenant T         the tenant: sent as X-Tenant-ID (default: the server's default tenant)
  --token JWT        an access token, sent as Authorization: Bearer (default: against the
                     running \`npm start\` in JWT mode, a token of its local issuer for --tenant)
  --concurrency N    Bundles in flight (default ${DEFAULT_CONCURRENCY})
  --chunk-size N     NDJSON lines per Bundle (default ${DEFAULT_CHUNK_SIZE})
  --state FILE       what is loaded already, to resume (default ${DEFAULT_STATE_FILE})
  --restart          send everything again`;

/** The options of a run; undefined for --help. */
async function ingestOptions(args: string[]): Promise<IngestOptions | undefined> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      tenant: { type: 'string' },
      token: { type: 'string' },
      concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
      'chunk-size': { type: 'string', default: String(DEFAULT_CHUNK_SIZE) },
      state: { type: 'string', default: DEFAULT_STATE_FILE },
      restart: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    return undefined;
  }
  if (positionals.length !== 1) {
    throw new Error(USAGE);
  }
  const stack = values.url === undefined ? await runningLocalStack() : undefined;
  return {
    folder: positionals[0]!,
    baseUrl: values.url ?? stack?.apiUrl ?? DEFAULT_URL,
    tenant: values.tenant,
    token: values.token ?? (stack && (await localStackToken(stack, { tenant: values.tenant, scope: INGEST_SCOPE, subject: 'npm-run-ingest' }))),
    concurrency: positiveInteger('--concurrency', values.concurrency),
    chunkSize: positiveInteger('--chunk-size', values['chunk-size']),
    stateFile: values.state,
    restart: values.restart,
    progress: process.stderr,
  };
}

function positiveInteger(flag: string, value: string): number {
  if (!/^[1-9]\d*$/.test(value)) {
    throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

try {
  const options = await ingestOptions(process.argv.slice(2));
  if (options) {
    const summary = await ingest(options);
    console.log(formatSummary(summary));
    process.exitCode = summary.units.failed > 0 ? 1 : 0;
  } else {
    console.log(USAGE);
  }
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
