/**
 * The `load` part: the whole local stack as `npm start` runs it (its own process: DynamoDB Local,
 * OpenSearch when available, the stream poller, fauxqs, JWT mode) under the reference workload of
 * `npm run load`, with DynamoDB Local's capacity measured in the same run beside each phase.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type LocalStack, localStackToken, runningLocalStack } from '../cli/local-stack.js';
import { freePort } from '../local/dynamodb-local.js';
import type { LoadReport } from '../load/bounds.js';
import { stackProcesses } from '../load/process-cpu.js';
import { runLoad } from '../load/run.js';

export interface LoadPartOptions {
  readonly syntheaDir: string;
  readonly n: number;
  readonly concurrency: number;
  readonly bundleConcurrency: number;
}

const START_SCRIPT = fileURLToPath(new URL('../start.ts', import.meta.url));
const STACK_START_TIMEOUT_MS = 180_000;
const STACK_STOP_TIMEOUT_MS = 60_000;
/** What this process set for its in-process handlers, which `npm start` sets for itself. */
const BENCH_SETTINGS = ['FHIR_TABLE_NAME', 'DYNAMODB_ENDPOINT', 'FHIR_AUTH_MODE', 'FHIR_DEFINITIONS_DIR'];

export async function benchLoad(options: LoadPartOptions): Promise<LoadReport> {
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !BENCH_SETTINGS.includes(name)));
  const child = spawn(process.execPath, ['--import', 'tsx', START_SCRIPT, '--port', String(port)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const stack = await announcedStack(child.pid!, port);
    const tenant = `bench-${randomUUID().slice(0, 8)}`;
    console.error(`load: npm start on port ${port} (pid ${stack.pid}), tenant ${tenant}`);
    return await runLoad({
      baseUrl: stack.apiUrl,
      n: options.n,
      concurrency: options.concurrency,
      tenant,
      token: await localStackToken(stack, { tenant, scope: 'system/*.cruds', subject: 'npm-run-bench' }),
      bundlesDir: options.syntheaDir,
      bundleConcurrency: options.bundleConcurrency,
      maxBundles: Number.MAX_SAFE_INTEGER,
      emulatorEndpoint: stack.settings.DYNAMODB_ENDPOINT,
      probeSeconds: 3,
      processes: stackProcesses(stack.pid),
      progress: (figures) => console.error(`load: ${JSON.stringify(figures)}`),
    });
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), STACK_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** The stack the child announced once everything is up (`.build/local-stack.json`). */
async function announcedStack(pid: number, port: number): Promise<LocalStack> {
  const deadline = Date.now() + STACK_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const stack = await runningLocalStack();
    if (stack?.pid === pid && stack.apiUrl.endsWith(`:${port}`)) {
      return stack;
    }
    await sleep(500);
  }
  throw new Error(`npm start (pid ${pid}) did not announce itself within ${STACK_START_TIMEOUT_MS} ms`);
}
