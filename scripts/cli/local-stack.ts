/**
 * How the command-line tools (reindex, ingest) find the stack `npm start` runs on this machine:
 * once everything is up, `npm start` writes its FHIR API's URL and the settings its handlers run
 * with (table, DynamoDB Local, OpenSearch, SNS) to `.build/local-stack.json`, and removes the file
 * when it stops. A tool reads the file only where its options and its environment name no target,
 * and ignores it once the process that wrote it is gone (a stack killed without its clean-up).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type RuntimeConfig } from '../../core/config.js';
import { localCredentialsEnv } from '../local/credentials.js';
import { issueToken, localSigningKey } from '../local/local-issuer.js';

export const LOCAL_STACK_FILE = fileURLToPath(new URL('../../.build/local-stack.json', import.meta.url));

/** The environment variables (core/config.ts) that say where a stack's data and events are. */
const STACK_SETTINGS = [
  'FHIR_TABLE_NAME',
  'DYNAMODB_ENDPOINT',
  'AWS_REGION',
  'OPENSEARCH_URL',
  'OPENSEARCH_INDEX',
  'SNS_ENDPOINT',
  'FHIR_CHANGE_TOPIC_ARN',
  'FHIR_AUDIT_TOPIC_ARN',
  'FHIR_AUTH_MODE',
  'FHIR_TENANT_CLAIM',
  'FHIR_DEFAULT_TENANT',
] as const;

export interface LocalStack {
  /** The `npm start` process. */
  readonly pid: number;
  /** The FHIR API's base URL. */
  readonly apiUrl: string;
  /** The settings its handlers run with, by environment variable; never credentials. */
  readonly settings: Partial<Record<(typeof STACK_SETTINGS)[number], string>>;
}

/** Records the stack this process runs; `env` is the handlers' environment. Returns the clean-up. */
export async function announceLocalStack(apiUrl: string, env: NodeJS.ProcessEnv, file = LOCAL_STACK_FILE): Promise<() => Promise<void>> {
  const settings = Object.fromEntries(STACK_SETTINGS.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
  const stack: LocalStack = { pid: process.pid, apiUrl, settings };
  await mkdir(dirname(file), { recursive: true });
  // Written aside and renamed: a reader never sees half a file.
  await writeFile(`${file}.${process.pid}`, `${JSON.stringify(stack, null, 2)}\n`);
  await rename(`${file}.${process.pid}`, file);
  return async () => {
    // A later `npm start` may have announced itself since: its file stays.
    if ((await readStackFile(file))?.pid === process.pid) {
      await rm(file, { force: true });
    }
  };
}

/** The stack a running `npm start` announced, or undefined. */
export async function runningLocalStack(file = LOCAL_STACK_FILE): Promise<LocalStack | undefined> {
  const stack = await readStackFile(file);
  return stack && isRunning(stack.pid) ? stack : undefined;
}

/** Settings a tool's flags give, by the environment variable each stands for; undefined: not given. */
export type GivenSettings = Partial<Record<(typeof STACK_SETTINGS)[number], string | undefined>>;

/**
 * The configuration of a tool that works on the table (and the index): `options` first (its
 * command-line flags, by the variable each stands for), then the environment, then, where
 * neither names a table, the running local stack. Against DynamoDB Local, the process gets the
 * emulator's dummy credentials unless it has its own.
 */
export async function toolConfig(
  options: GivenSettings,
  context: { readonly usage: string; readonly env?: NodeJS.ProcessEnv; readonly stackFile?: string },
): Promise<{ config: RuntimeConfig; stack?: LocalStack }> {
  const { usage, env = process.env, stackFile = LOCAL_STACK_FILE } = context;
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const stack = given.FHIR_TABLE_NAME || env.FHIR_TABLE_NAME ? undefined : await runningLocalStack(stackFile);
  const resolved = { ...stack?.settings, ...env, ...given };
  if (!resolved.FHIR_TABLE_NAME) {
    throw new Error(`No table: start the local stack (npm start) in another terminal, or pass --table (and --endpoint for DynamoDB Local), or set FHIR_TABLE_NAME.\n${usage}`);
  }
  if (resolved.DYNAMODB_ENDPOINT) {
    // The SDK's default chain reads credentials from the process environment.
    Object.assign(process.env, localCredentialsEnv(env));
  }
  return { config: loadConfig(resolved), stack };
}

/**
 * A token of the stack's local issuer for `tenant` (default: the stack's default tenant), when
 * the stack checks tokens (JWT mode); else none, and requests name their tenant in X-Tenant-ID.
 */
export async function localStackToken(stack: LocalStack, grant: { readonly tenant?: string; readonly scope: string; readonly subject: string }): Promise<string | undefined> {
  const config = loadConfig(stack.settings);
  if (config.authMode !== 'jwt') {
    return undefined;
  }
  return issueToken(await localSigningKey(), { tenant: grant.tenant ?? config.defaultTenant, scope: grant.scope, tenantClaim: config.tenantClaim, subject: grant.subject });
}

async function readStackFile(file: string): Promise<LocalStack | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LocalStack;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
