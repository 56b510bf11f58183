/**
 * `npm start`: the whole backend on this machine — DynamoDB Local, the table, and the HTTP server
 * that turns requests into API Gateway proxy events for the real handlers.
 *
 *   npm start -- [--port 3000] [--data-dir [.data/dynamodb]]
 *
 * Tables live in memory unless `--data-dir` is given. The table is `$FHIR_TABLE_NAME`, default
 * `fhir-local`; the port `--port`, else `$PORT`, else 3000.
 */
import { parseArgs } from 'node:util';
import { startDynamoDbLocal, localHandlerEnv, type DynamoDbLocal } from './local/dynamodb-local.js';
import { startLocalApi, type LocalApi } from './local/http-server.js';
import { ensureLocalTable } from './local/table.js';
import { prepare } from './prepare.js';

const DEFAULT_PORT = 3000;
const DEFAULT_DATA_DIR = '.data/dynamodb';
const DEFAULT_TABLE = 'fhir-local';

interface StartOptions {
  readonly port: number;
  readonly dataDir: string | undefined;
  readonly tableName: string;
}

function startOptions(args: string[], env: NodeJS.ProcessEnv): StartOptions {
  // Non-strict parsing is what lets `--data-dir` stand alone (value `true`); unknown flags are
  // rejected by hand below.
  const { values, positionals } = parseArgs({
    args,
    strict: false,
    options: { port: { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  const unknown = [...Object.keys(values).filter((name) => name !== 'port' && name !== 'data-dir').map((name) => `--${name}`), ...positionals];
  if (unknown.length > 0) {
    throw new Error(`Unexpected argument ${unknown.join(', ')}; usage: npm start -- [--port N] [--data-dir [dir]]`);
  }
  const port = values.port ?? env.PORT ?? String(DEFAULT_PORT);
  if (typeof port !== 'string' || !/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new Error(`--port (or PORT) must be a port number, got ${JSON.stringify(port)}`);
  }
  const dataDirFlag = values['data-dir'];
  const dataDir = dataDirFlag === undefined ? undefined : typeof dataDirFlag === 'string' ? dataDirFlag : DEFAULT_DATA_DIR;
  return { port: Number(port), dataDir, tableName: env.FHIR_TABLE_NAME || DEFAULT_TABLE };
}

async function start(options: StartOptions): Promise<{ database: DynamoDbLocal; api: LocalApi }> {
  await prepare();
  const database = await startDynamoDbLocal({ dataDir: options.dataDir });
  try {
    // The handlers read their configuration from the environment, as deployed.
    Object.assign(process.env, localHandlerEnv(database.endpoint, options.tableName));
    await ensureLocalTable(database.endpoint, options.tableName);
    const api = await startLocalApi({ port: options.port, host: '127.0.0.1' });
    return { database, api };
  } catch (error) {
    await database.stop();
    throw error;
  }
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

try {
  const options = startOptions(process.argv.slice(2), process.env);
  const { database, api } = await start(options);
  stopOnSignal(async () => {
    await api.close();
    await database.stop();
  });
  console.log(
    [
      `FHIR API     ${api.baseUrl}`,
      `DynamoDB     ${database.endpoint} (table ${options.tableName}, ${options.dataDir ? `data in ${options.dataDir}` : 'in memory'})`,
      `Try          curl -s ${api.baseUrl}/Patient -H 'X-Tenant-ID: demo' -H 'Content-Type: application/fhir+json' -d '{"resourceType":"Patient","name":[{"family":"Chalmers"}]}'`,
    ].join('\n'),
  );
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
