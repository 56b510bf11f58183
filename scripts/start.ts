/**
 * `npm start`: the whole backend on this machine — DynamoDB Local and the table, the HTTP server
 * that turns requests into API Gateway proxy events for the real handlers, the stream poller
 * that feeds the table's stream to the real stream-processor handler, SNS/SQS (fauxqs) for its
 * change and audit events, and OpenSearch: `$OPENSEARCH_URL` if set, else a local node when Java
 * and Maven are present (`--no-opensearch` to skip), else none — search then runs on DynamoDB.
 *
 *   npm start -- [--port 3000] [--data-dir [.data]] [--no-opensearch]
 *
 * Data lives in memory unless `--data-dir` is given. The table is `$FHIR_TABLE_NAME`, default
 * `fhir-local`; the port `--port`, else `$PORT`, else 3000.
 */
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { openSearchClient } from '../core/search/opensearch/client.js';
import { ensureIndex } from '../core/search/opensearch/mapping.js';
import { announceLocalStack, LOCAL_STACK_FILE } from './cli/local-stack.js';
import { startDynamoDbLocal, localHandlerEnv } from './local/dynamodb-local.js';
import { startLocalApi } from './local/http-server.js';
import { DEFAULT_KEY_DIR, JWKS_PATH, localJwtAuth, trustLocalIssuer } from './local/local-issuer.js';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { LOCAL_CREDENTIALS } from './local/credentials.js';
import { createLocalExportWorker } from './local/export-worker.js';
import { startLocalMessaging } from './local/messaging.js';
import { createLocalBucket } from './local/storage.js';
import { startLocalOpenSearch } from './local/opensearch.js';
import { startLocalStreamProcessing } from './local/stream-processing.js';
import { ensureLocalTable } from './local/table.js';
import { prepare } from './prepare.js';

const DEFAULT_PORT = 3000;
const DEFAULT_DATA_DIR = '.data';
const DEFAULT_TABLE = 'fhir-local';

interface StartOptions {
  readonly port: number;
  readonly dataDir: string | undefined;
  readonly tableName: string;
  readonly openSearch: boolean;
}

function startOptions(args: string[], env: NodeJS.ProcessEnv): StartOptions {
  // Non-strict parsing is what lets `--data-dir` stand alone (value `true`); unknown flags are
  // rejected by hand below.
  const { values, positionals } = parseArgs({
    args,
    strict: false,
    options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, 'no-opensearch': { type: 'boolean' } },
  });
  const known = new Set(['port', 'data-dir', 'no-opensearch']);
  const unknown = [...Object.keys(values).filter((name) => !known.has(name)).map((name) => `--${name}`), ...positionals];
  if (unknown.length > 0) {
    throw new Error(`Unexpected argument ${unknown.join(', ')}; usage: npm start -- [--port N] [--data-dir [dir]] [--no-opensearch]`);
  }
  const port = values.port ?? env.PORT ?? String(DEFAULT_PORT);
  if (typeof port !== 'string' || !/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new Error(`--port (or PORT) must be a port number, got ${JSON.stringify(port)}`);
  }
  const dataDirFlag = values['data-dir'];
  const dataDir = dataDirFlag === undefined ? undefined : typeof dataDirFlag === 'string' ? dataDirFlag : DEFAULT_DATA_DIR;
  return { port: Number(port), dataDir, tableName: env.FHIR_TABLE_NAME || DEFAULT_TABLE, openSearch: values['no-opensearch'] !== true };
}

/** Everything started so far, stopped in reverse order; a failed start stops what it started. */
class Running {
  private readonly stops: (() => Promise<void>)[] = [];

  add(stop: () => Promise<void>): void {
    this.stops.unshift(stop);
  }

  async stop(): Promise<void> {
    for (const stop of this.stops) {
      await stop().catch((error: unknown) => console.error(error));
    }
  }
}

async function start(options: StartOptions, running: Running): Promise<string[]> {
  // JWT mode unless asked for local-dev: requests pass the same authorizer as deployed.
  process.env.FHIR_AUTH_MODE ||= 'jwt';
  const prepared = await prepare();
  const database = await startDynamoDbLocal({ dataDir: options.dataDir && join(options.dataDir, 'dynamodb') });
  running.add(() => database.stop());
  // The handlers read their configuration from the environment, as deployed.
  Object.assign(process.env, localHandlerEnv(database.endpoint, options.tableName));
  await ensureLocalTable(database.endpoint, options.tableName);

  const messaging = await startLocalMessaging();
  running.add(() => messaging.stop());
  Object.assign(process.env, messaging.env);
  // Bulk export: its bucket (fauxqs S3) and work queue, fed to functions/export-worker.ts in this process.
  const exportWorker = await createLocalExportWorker(messaging);
  Object.assign(process.env, exportWorker.env);

  const search = await startSearch(options, loadConfig().openSearch?.url, prepared.openSearchDir !== undefined, running);
  if (search.url) {
    process.env.OPENSEARCH_URL = search.url;
  }
  // What the handlers will resolve, now that every endpoint is in the environment.
  const config = loadConfig();
  if (config.openSearch) {
    await ensureIndex(openSearchClient(config.openSearch, config.region), config.openSearch.index);
  }

  // A kept table already had its stream read by an earlier run: start at the end of it.
  exportWorker.start();
  running.add(() => exportWorker.stop());
  const poller = await startLocalStreamProcessing({ endpoint: database.endpoint, tableName: options.tableName, startingPosition: options.dataDir ? 'LATEST' : 'TRIM_HORIZON' });
  running.add(() => poller.stop());
  const auth = config.authMode === 'jwt' ? await localJwtAuth() : undefined;
  const api = await startLocalApi({ port: options.port, host: '127.0.0.1', auth });
  running.add(() => api.close());
  if (auth) {
    trustLocalIssuer(api.baseUrl, process.env);
  }
  const analytics = await startLocalAnalytics(messaging, process.env.FHIR_ANALYTICS_EVERY ?? '24h', running);

  // For reindex and ingest in another terminal (scripts/cli/local-stack.ts).
  running.add(await announceLocalStack(api.baseUrl, process.env));

  return [
    `FHIR API     ${api.baseUrl}`,
    `DynamoDB     ${database.endpoint} (table ${options.tableName}, ${options.dataDir ? `data in ${options.dataDir}` : 'in memory'})`,
    `OpenSearch   ${search.description}`,
    `Stream       poller → functions/stream-processor.ts (index, change and audit events)`,
    `SNS/SQS      ${messaging.endpoint} (fauxqs); topics ${messaging.changeTopicArn}, ${messaging.auditTopicArn}`,
    `$export      worker → functions/export-worker.ts; NDJSON in S3 bucket ${exportWorker.bucket} at ${messaging.endpoint} (fauxqs; presigned URLs work from curl)`,
    `Subscribe    aws --endpoint-url ${messaging.endpoint} sqs create-queue --queue-name mine, then sns subscribe --protocol sqs to a topic`,
    `Analytics    every ${analytics.every} for every tenant with data (FHIR_ANALYTICS_EVERY); now: POST /$analytics or npm run analytics -- --tenant T; reports in S3 bucket ${analytics.bucket}`,
    `Tools        npm run ingest -- <folder>, npm run reindex: they find this stack (${relative(process.cwd(), LOCAL_STACK_FILE)})`,
    ...tryLines(api.baseUrl, auth !== undefined),
  ];
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The analytics schedule as deployed (infra/analytics.ts): a reports bucket and "report ready"
 * topic in fauxqs, and a timer running every tenant with data every `every` (`90s`, `15m`, `24h`).
 */
async function startLocalAnalytics(messaging: Awaited<ReturnType<typeof startLocalMessaging>>, every: string, running: Running): Promise<{ every: string; bucket: string }> {
  const match = DURATION.exec(every);
  if (!match) {
    throw new Error(`FHIR_ANALYTICS_EVERY must be a duration such as 90s, 15m, 24h or 1d, got ${JSON.stringify(every)}`);
  }
  const bucket = await createLocalBucket(messaging, 'fhir-analytics');
  const sns = new SNSClient({ endpoint: messaging.endpoint, region: messaging.region, credentials: LOCAL_CREDENTIALS });
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'fhir-analytics' }));
  sns.destroy();
  Object.assign(process.env, bucket.env, { FHIR_ANALYTICS_BUCKET: bucket.name, FHIR_ANALYTICS_TOPIC_ARN: TopicArn });
  const timer = setInterval(() => {
    import('../functions/analytics.js')
      .then((analytics) => analytics.runEveryTenant())
      .then((runs) => console.log(`analytics: scheduled run of ${runs.length} tenant(s) done`))
      .catch((error: unknown) => console.error('analytics: scheduled run failed', error));
  }, Number(match[1]) * UNIT_MS[match[2]!]!);
  running.add(async () => clearInterval(timer));
  return { every, bucket: bucket.name };
}

function tryLines(baseUrl: string, jwt: boolean): string[] {
  const create = `curl -s ${baseUrl}/Patient -H 'Content-Type: application/fhir+json' -d '{"resourceType":"Patient","name":[{"family":"Chalmers"}]}'`;
  if (!jwt) {
    return [`Auth         local-dev: the tenant is X-Tenant-ID, every scope granted`, `Try          ${create} -H 'X-Tenant-ID: demo'`];
  }
  return [
    `Auth         JWT: tokens of the local issuer (key in ${DEFAULT_KEY_DIR}, JWKS at ${baseUrl}${JWKS_PATH}); FHIR_AUTH_MODE=local-dev npm start for X-Tenant-ID`,
    `Token        TOKEN=$(npm run -s token -- --tenant demo --scope "user/*.cruds" | tail -1)`,
    `Try          ${create} -H "Authorization: Bearer $TOKEN"`,
  ];
}

/** OpenSearch at the configured URL ($OPENSEARCH_URL), else a local node if it can run, else none (and why). */
async function startSearch(options: StartOptions, configuredUrl: string | undefined, canRunLocal: boolean, running: Running): Promise<{ url?: string; description: string }> {
  if (configuredUrl) {
    return { url: configuredUrl, description: `${configuredUrl} (OPENSEARCH_URL)` };
  }
  if (!options.openSearch) {
    return { description: 'off (--no-opensearch): search runs on the DynamoDB engine' };
  }
  if (!canRunLocal) {
    return { description: 'not available (needs Java and Maven, or OPENSEARCH_URL): search runs on the DynamoDB engine' };
  }
  const node = await startLocalOpenSearch({ dataDir: options.dataDir && join(options.dataDir, 'opensearch') });
  running.add(() => node.stop());
  return { url: node.url, description: `${node.url} (local node; searches other than _id, compartment and plain listings use it)` };
}

function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      return;
    }
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

const running = new Running();
try {
  const options = startOptions(process.argv.slice(2), process.env);
  stopOnSignal(() => running.stop());
  console.log((await start(options, running)).join('\n'));
} catch (error) {
  console.error((error as Error).message);
  await running.stop();
  process.exit(1);
}
