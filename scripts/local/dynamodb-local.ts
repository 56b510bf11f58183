/**
 * DynamoDB Local, AWS's own emulator, as a child process. It is the local engine rather than
 * dynalite because it implements TransactWriteItems and DynamoDB Streams, which versioned writes,
 * transaction Bundles and the stream processor need.
 *
 * Its SQLite database always lives in a file (on tmpfs and deleted at stop when no data directory
 * is asked for, so it is as fast and as forgetful as `-inMemory`), because the emulator needs one
 * index it does not create: every request to a table with a stream (each GetItem, each item
 * written) computes the stream's description with `SELECT MIN(SequenceNumber) FROM us WHERE
 * StreamID = ?`, a scan of every stream record of the last 24 hours. Without the index a request
 * costs time in proportion to the writes made before it: after 20,000 stream records GetItem
 * served 5× and TransactWriteItems 20× fewer requests per second; with it, none slower
 * (docs/benchmarks.md).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localCredentialsEnv } from './credentials.js';
import { cachedPackage } from './package-cache.js';

/** The npm package whose `emulator/` directory holds DynamoDBLocal.jar (1.25.x). */
export const DYNAMODB_LOCAL_PACKAGE = { name: 'amplify-dynamodb-simulator', version: '2.9.30' } as const;

/** The database file of `-sharedDb`. */
export const SHARED_DB_FILE = 'shared-local-instance.db';
/** DynamoDB Local's stream records table, and the index that makes its per-request lookup a seek. */
export const STREAM_RECORDS_INDEX = 'us_stream_sequence';
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export interface DynamoDbLocalOptions {
  /** Keep tables in this directory across runs; absent: a scratch database (tmpfs) deleted at stop. */
  readonly dataDir?: string;
  /** A free port is chosen when absent. */
  readonly port?: number;
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  /** Where its database is: the data directory asked for, or the scratch one. */
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** The directory holding DynamoDBLocal.jar, fetched into the package cache on first use. */
export async function dynamoDbLocalDir(): Promise<string> {
  return join(await cachedPackage(DYNAMODB_LOCAL_PACKAGE.name, DYNAMODB_LOCAL_PACKAGE.version), 'emulator');
}

/** A client for DynamoDB Local at `endpoint`, with the dummy credentials it accepts. */
export function localDynamoDbClient(endpoint: string, config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, ...config });
}

/**
 * The environment the handlers (`core/config.ts`) need to use `tableName` on this DynamoDB Local.
 * Region, credentials and auth mode already set in `env` are kept.
 */
export function localHandlerEnv(endpoint: string, tableName: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    FHIR_TABLE_NAME: tableName,
    FHIR_AUTH_MODE: env.FHIR_AUTH_MODE || 'local-dev',
    AWS_REGION: env.AWS_REGION || LOCAL_REGION,
    ...localCredentialsEnv(env),
    DYNAMODB_ENDPOINT: endpoint,
  };
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const dir = await dynamoDbLocalDir();
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ? await createdDir(options.dataDir) : await scratchDir();
  const forget = options.dataDir ? async () => undefined : () => rm(dataDir, { recursive: true, force: true });
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-port',
      String(port),
      '-dbPath',
      dataDir,
      // One database whatever the caller's credentials and region, so the tests, the handlers
      // and a developer's AWS CLI all see the same tables.
      '-sharedDb',
      '-disableTelemetry',
    ],
    // DynamoDB Local writes dynamodb-local-metadata.json into its working directory: keep that
    // out of the repository.
    { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = recentOutput(child);
  // A signal-free exit of this process (normal end, process.exit, uncaught error) must not leave
  // Java running; signal handling is the caller's (scripts/start.ts) and vitest's.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(child, endpoint, output);
    indexStreamRecords(join(dataDir, SHARED_DB_FILE));
  } catch (error) {
    process.off('exit', killOnExit);
    await stopChild(child);
    await forget();
    throw error;
  }
  return {
    endpoint,
    dataDir,
    async stop() {
      process.off('exit', killOnExit);
      await stopChild(child);
      await forget();
    },
  };
}

/** A fresh directory for a database that lives as long as the process: on tmpfs where there is one. */
async function scratchDir(): Promise<string> {
  return mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'dynamodb-local-'));
}

/**
 * Adds the stream records index to the emulator's database (idempotent), beside the running
 * emulator: SQLite takes the schema change under its locks, and the emulator's statements are
 * prepared again on their next use.
 */
function indexStreamRecords(file: string): void {
  const database = new DatabaseSync(file);
  try {
    database.exec('PRAGMA busy_timeout = 10000');
    database.exec(`CREATE INDEX IF NOT EXISTS ${STREAM_RECORDS_INDEX} ON us (StreamID, SequenceNumber)`);
  } finally {
    database.close();
  }
}

async function createdDir(dir: string): Promise<string> {
  const absolute = resolve(dir);
  await mkdir(absolute, { recursive: true });
  return absolute;
}

/** Asks the OS for a free port; the tiny window before Java binds it is acceptable locally. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') {
    throw new Error('Could not determine a free port');
  }
  return address.port;
}

/** Keeps the last lines Java printed, to explain a failed start. */
function recentOutput(child: ChildProcess): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text.trim();
}

async function waitUntilServing(child: ChildProcess, endpoint: string, output: () => string): Promise<void> {
  let spawnError: NodeJS.ErrnoException | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  // No SDK retries: the loop below is the retry, at a steady pace.
  const client = localDynamoDbClient(endpoint, { maxAttempts: 1 });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  try {
    for (;;) {
      if (spawnError) {
        throw spawnError.code === 'ENOENT'
          ? new Error('DynamoDB Local needs Java 11 or newer, but no `java` was found on PATH. Install a JRE (e.g. `apt-get install openjdk-17-jre-headless`).')
          : spawnError;
      }
      if (hasExited(child)) {
        throw new Error(`DynamoDB Local exited during start-up (code ${child.exitCode}, signal ${child.signalCode}):\n${output()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer at ${endpoint} within ${STARTUP_TIMEOUT_MS} ms: ${(error as Error).message}\n${output()}`);
        }
        await sleep(100);
      }
    }
  } finally {
    client.destroy();
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(child: ChildProcess): Promise<void> {
  // No pid: Java never started (spawn failed), so there is nothing to wait for.
  if (child.pid === undefined || hasExited(child)) {
    return;
  }
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
