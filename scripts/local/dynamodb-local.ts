/**
 * DynamoDB Local, AWS's own emulator, as a child process. It is the local engine rather than
 * dynalite because it implements TransactWriteItems and DynamoDB Streams, which versioned writes,
 * transaction Bundles and the stream processor need.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localCredentialsEnv } from './credentials.js';
import { cachedPackage } from './package-cache.js';

/** The npm package whose `emulator/` directory holds DynamoDBLocal.jar (1.25.x). */
export const DYNAMODB_LOCAL_PACKAGE = { name: 'amplify-dynamodb-simulator', version: '2.9.30' } as const;

const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export interface DynamoDbLocalOptions {
  /** Keep tables in this directory across runs; in memory when absent. */
  readonly dataDir?: string;
  /** A free port is chosen when absent. */
  readonly port?: number;
}

export interface DynamoDbLocal {
  readonly endpoint: string;
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
  const dataDir = options.dataDir ? await createdDir(options.dataDir) : undefined;
  const storage = dataDir ? ['-dbPath', dataDir] : ['-inMemory'];
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-port',
      String(port),
      ...storage,
      // One database whatever the caller's credentials and region, so the tests, the handlers
      // and a developer's AWS CLI all see the same tables.
      '-sharedDb',
      '-disableTelemetry',
    ],
    // DynamoDB Local writes dynamodb-local-metadata.json into its working directory: keep that
    // out of the repository.
    { cwd: dataDir ?? dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = recentOutput(child);
  // A signal-free exit of this process (normal end, process.exit, uncaught error) must not leave
  // Java running; signal handling is the caller's (scripts/start.ts) and vitest's.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(child, endpoint, output);
  } catch (error) {
    process.off('exit', killOnExit);
    await stopChild(child);
    throw error;
  }
  return {
    endpoint,
    async stop() {
      process.off('exit', killOnExit);
      await stopChild(child);
    },
  };
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
