/**
 * One cold start, in a fresh plain-Node process: `bundles.ts` compiles this file to JavaScript
 * (so no TypeScript loader runs in the measured process) and starts it once per sample.
 *
 *   node cold-process.mjs <bundle.mjs> < invocation.json
 *
 * It imports the handler bundle and, when stdin holds a recorded invocation (`{ event, context }`),
 * calls the handler with it twice: the first request pays for everything loaded lazily, the second
 * shows the warm cost. The last stdout line is the `ColdStart` JSON, after the handler's own logs.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface ColdStart {
  readonly importMs: number;
  readonly requests: readonly { readonly ms: number; readonly status: number }[];
}

interface RecordedInvocation {
  readonly event: unknown;
  readonly context: Record<string, unknown>;
}

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number }>;

const REQUESTS_PER_INVOCATION = 2;
// The recorded context lost its functions in JSON; handlers may ask for the time left.
const REMAINING_MS = 30_000;

const bundlePath = process.argv[2];
if (!bundlePath) {
  throw new Error('usage: node cold-process.mjs <bundle.mjs> < invocation.json');
}
const input = readFileSync(0, 'utf8');
const invocation = input.trim() === '' ? undefined : (JSON.parse(input) as RecordedInvocation);

const started = performance.now();
const { handler } = (await import(pathToFileURL(bundlePath).href)) as { handler: Handler };
const importMs = performance.now() - started;

const requests: { ms: number; status: number }[] = [];
for (let i = 0; invocation && i < REQUESTS_PER_INVOCATION; i++) {
  const requestStarted = performance.now();
  const result = await handler(invocation.event, { ...invocation.context, getRemainingTimeInMillis: () => REMAINING_MS });
  requests.push({ ms: performance.now() - requestStarted, status: result.statusCode });
}
const coldStart: ColdStart = { importMs, requests };
console.log(JSON.stringify(coldStart));
// The DynamoDB client's keep-alive sockets would hold the process open; a pipe write is synchronous, so nothing is lost.
process.exit(0);
