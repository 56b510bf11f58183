/**
 * `npm run ingest`: loads a folder of FHIR transaction Bundles (`*.json`, one transaction per
 * file) or Bulk Data NDJSON (`*.ndjson`, chunked into transactions of `PUT Type/id`) into a
 * running server through `POST /`, resumably. Exits 1 when anything failed.
 *
 *   npm run ingest -- <folder> [--url http://127.0.0.1:3000] [--tenant t] [--concurrency 4]
 *                             [--chunk-size 50] [--state .data/ingest-state.json] [--restart]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_CHUNK_SIZE, DEFAULT_CONCURRENCY, DEFAULT_STATE_FILE, ingest, type IngestOptions } from './ingest/ingest.js';
import { formatSummary } from './ingest/report.js';

const DEFAULT_URL = 'http://127.0.0.1:3000';
const USAGE =
  'usage: npm run ingest -- <folder> [--url URL] [--tenant T] [--concurrency N] [--chunk-size N] [--state FILE] [--restart]';

function ingestOptions(args: string[]): IngestOptions {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: DEFAULT_URL },
      tenant: { type: 'string' },
      concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
      'chunk-size': { type: 'string', default: String(DEFAULT_CHUNK_SIZE) },
      state: { type: 'string', default: DEFAULT_STATE_FILE },
      restart: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) {
    throw new Error(USAGE);
  }
  return {
    folder: positionals[0]!,
    baseUrl: values.url,
    tenant: values.tenant,
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
  const summary = await ingest(ingestOptions(process.argv.slice(2)));
  console.log(formatSummary(summary));
  process.exitCode = summary.units.failed > 0 ? 1 : 0;
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
