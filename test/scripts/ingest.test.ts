/**
 * The ingest command against a fake server that records every Bundle: what it sends and in which
 * order, resuming, retrying and reporting. Loading into the real local API: ingest-local-api.test.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { ingest, type IngestOptions } from '../../scripts/ingest/ingest.js';
import { ndjson, patient, transaction, useScratchFolders } from './ingest-input.js';

const folderOf = useScratchFolders();

// ---- a fake server -------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** How the fake server answers a Bundle; `attempt` counts the POSTs of Bundles with the same first entry. */
type Responder = (bundle: Bundle, attempt: number) => Answer | 'drop-connection';

interface FakeServer {
  readonly baseUrl: string;
  /** Every POSTed Bundle, in arrival order. */
  readonly posted: Bundle[];
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.close();
  }
});

const succeed: Responder = (bundle) => ({
  status: 200,
  body: { resourceType: 'Bundle', type: 'transaction-response', entry: bundle.entry!.map(() => ({ response: { status: '201 Created' } })) },
});

async function fakeServer(respond: Responder = succeed): Promise<FakeServer> {
  const posted: Bundle[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) {
      body += chunk;
    }
    if (req.method !== 'POST') {
      res.end('{"resourceType":"CapabilityStatement"}');
      return;
    }
    const bundle = JSON.parse(body) as Bundle;
    posted.push(bundle);
    const answer = respond(bundle, posted.filter((other) => firstId(other) === firstId(bundle)).length);
    if (answer === 'drop-connection') {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/fhir+json', ...answer.headers });
    res.end(JSON.stringify(answer.body ?? {}));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push({ close: () => server.close() && server.closeAllConnections() });
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posted };
}

const firstId = (bundle: Bundle) => bundle.entry?.[0]?.resource?.id;
const requestUrls = (bundles: readonly Bundle[]) => bundles.flatMap((bundle) => bundle.entry!.map((entry) => entry.request!.url));
const fastRetry = { attempts: 4, baseDelayMs: 1 };

describe('ingest against a fake server', () => {
  it('cuts NDJSON into transactions of PUT Type/id, Organization before Patient before the rest', async () => {
    const { folder, stateFile } = await folderOf({
      'Encounter.000.ndjson': ndjson([1, 2, 3, 4, 5].map((n) => ({ resourceType: 'Encounter', id: `enc-${n}` }))).replace('\n', '\n\n'),
      'Patient.000.ndjson': ndjson([patient('pat-1'), patient('pat-2'), patient('pat-3')]),
      'Organization.000.ndjson': ndjson([{ resourceType: 'Organization', id: 'org-1' }]),
    });
    const server = await fakeServer();
    const summary = await ingest({ folder, stateFile, baseUrl: server.baseUrl, chunkSize: 2, concurrency: 4 });

    expect(summary).toMatchObject({ format: 'ndjson', files: 3, units: { loaded: 6, failed: 0 }, resources: { loaded: 9, failed: 0 }, failures: [] });
    for (const bundle of server.posted) {
      expect(bundle.type).toBe('transaction');
      expect(bundle.entry!.length).toBeLessThanOrEqual(2);
      for (const { resource, request } of bundle.entry!) {
        expect(request).toEqual({ method: 'PUT', url: `${resource!.resourceType}/${resource!.id}` });
      }
    }
    const urls = requestUrls(server.posted);
    // Each type's chunks go concurrently (pat-3's may land before pat-1's); the types, in order.
    expect(urls[0]).toBe('Organization/org-1');
    expect(urls.slice(1, 4).sort()).toEqual(['Patient/pat-1', 'Patient/pat-2', 'Patient/pat-3']);
    expect(urls.slice(4).sort()).toEqual(['Encounter/enc-1', 'Encounter/enc-2', 'Encounter/enc-3', 'Encounter/enc-4', 'Encounter/enc-5']);
  });

  it('resumes: a second run sends nothing, an edited chunk is sent again, restart sends everything', async () => {
    const { folder, stateFile } = await folderOf({ 'Patient.ndjson': ndjson([patient('a'), patient('b'), patient('c')]) });
    const server = await fakeServer();
    const options: IngestOptions = { folder, stateFile, baseUrl: server.baseUrl, chunkSize: 2 };
    await ingest(options);
    expect(server.posted).toHaveLength(2);

    const again = await ingest(options);
    expect(again).toMatchObject({ units: { loaded: 0, failed: 0, skipped: 2 }, resources: { loaded: 0, skipped: 3 } });
    expect(server.posted).toHaveLength(2);

    await writeFile(join(folder, 'Patient.ndjson'), ndjson([patient('a'), patient('b'), patient('c', { gender: 'female' })]));
    expect(await ingest(options)).toMatchObject({ units: { loaded: 1, skipped: 1 } });
    expect(requestUrls(server.posted.slice(2))).toEqual(['Patient/c']);

    expect(await ingest({ ...options, restart: true })).toMatchObject({ units: { loaded: 2, skipped: 0 } });
    expect(server.posted).toHaveLength(5);
    // The state is per server: the same folder into another one is loaded in full.
    const other = await fakeServer();
    expect(await ingest({ ...options, baseUrl: other.baseUrl })).toMatchObject({ units: { loaded: 2, skipped: 0 } });
  });

  it('retries 429, 5xx and dropped connections with backoff; a 4xx fails at once with its OperationOutcome', async () => {
    const { folder, stateFile } = await folderOf({
      'flaky.json': JSON.stringify(transaction(patient('flaky'))),
      'invalid.json': JSON.stringify(transaction(patient('invalid'))),
      'down.json': JSON.stringify(transaction(patient('down'))),
    });
    const flaky: (Answer | 'drop-connection')[] = [{ status: 503 }, 'drop-connection', { status: 429, headers: { 'retry-after': '0' } }];
    const server = await fakeServer((bundle, attempt) => {
      switch (firstId(bundle)) {
        case 'flaky':
          return flaky[attempt - 1] ?? succeed(bundle, attempt);
        case 'invalid':
          return {
            status: 400,
            body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'value', diagnostics: 'Invalid code', expression: ['Bundle.entry[0].resource.gender'] }] },
          };
        default:
          return { status: 500, body: 'it broke' };
      }
    });
    const summary = await ingest({ folder, stateFile, baseUrl: server.baseUrl, retry: fastRetry });

    const attempts = (id: string) => server.posted.filter((bundle) => firstId(bundle) === id).length;
    expect([attempts('flaky'), attempts('invalid'), attempts('down')]).toEqual([4, 1, 4]);
    expect(summary).toMatchObject({ format: 'bundles', units: { loaded: 1, failed: 2 }, resources: { loaded: 1, failed: 2 } });
    expect(summary.failures).toEqual([
      { unit: 'down.json', status: 500, message: '"it broke"' },
      { unit: 'invalid.json', status: 400, message: 'Bundle.entry[0].resource.gender: Invalid code' },
    ]);
    // Failed units are not recorded: the next run tries them again, and only them.
    expect(await ingest({ folder, stateFile, baseUrl: server.baseUrl, retry: { attempts: 1, baseDelayMs: 1 } })).toMatchObject({
      units: { loaded: 0, failed: 2, skipped: 1 },
    });
  });

  it('fails a chunk with a malformed line without sending it, and loads the other chunks', async () => {
    const lines = [JSON.stringify(patient('p1')), '{"resourceType":"Patient",', JSON.stringify(patient('p3')), JSON.stringify({ resourceType: 'Encounter', id: 'e1' })];
    const { folder, stateFile } = await folderOf({
      'Patient.ndjson': `${lines.join('\n')}\n`,
      'Observation.ndjson': ndjson([{ resourceType: 'Observation', id: 'o1' }, { resourceType: 'Observation' }]),
    });
    const server = await fakeServer();
    const summary = await ingest({ folder, stateFile, baseUrl: server.baseUrl, chunkSize: 2 });

    expect(server.posted).toHaveLength(0);
    expect(summary.failures.map(({ unit, message }) => `${unit} ${message}`)).toEqual([
      'Observation.ndjson:1-2 line 2: not a resource with a resourceType and an id',
      expect.stringMatching(/^Patient\.ndjson:1-2 line 2: not JSON \(.+\)$/),
      'Patient.ndjson:3-4 line 4: a Encounter in a file of Patient (Bulk Data files hold one type each)',
    ]);
    await writeFile(join(folder, 'Patient.ndjson'), `${lines[0]}\n${lines[2]}\n`);
    await writeFile(join(folder, 'Observation.ndjson'), ndjson([{ resourceType: 'Observation', id: 'o1' }]));
    expect(await ingest({ folder, stateFile, baseUrl: server.baseUrl, chunkSize: 2 })).toMatchObject({ units: { loaded: 2, failed: 0 } });
  });

  it('fails a batch whose response has failed entries', async () => {
    const { folder, stateFile } = await folderOf({ 'batch.json': JSON.stringify({ ...transaction(patient('x'), patient('y')), type: 'batch' }) });
    const server = await fakeServer(() => ({
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [
          { response: { status: '201 Created' } },
          { response: { status: '400', outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'bad' }] } } },
        ],
      },
    }));
    expect((await ingest({ folder, stateFile, baseUrl: server.baseUrl })).failures).toEqual([{ unit: 'batch.json', message: 'entry[1] 400: bad' }]);
  });

  it('refuses to start when no server answers', async () => {
    const { folder, stateFile } = await folderOf({ 'a.json': JSON.stringify(transaction(patient('a'))) });
    const server = await fakeServer();
    servers.splice(0).forEach((running) => running.close());
    await expect(ingest({ folder, stateFile, baseUrl: server.baseUrl })).rejects.toThrow(/No server answers at .*ECONNREFUSED/);
  });

  it('draws one line redrawn with \\r on a terminal, plain lines in a log', async () => {
    const { folder, stateFile } = await folderOf({ 'Patient.ndjson': ndjson([patient('a'), patient('b'), patient('c')]) });
    const server = await fakeServer();
    const run = async (isTTY: boolean) => {
      let text = '';
      await ingest({ folder, stateFile, baseUrl: server.baseUrl, restart: true, progress: { isTTY, write: (chunk) => (text += chunk) } });
      return text;
    };
    const tty = await run(true);
    expect(tty).toMatch(/^.*1 NDJSON files in 1 transaction Bundles, 3 resources; already loaded: 0 Bundles, 0 resources\n\r\[\.+\] 0\/3 resources 0% /);
    expect(tty).toMatch(/\r\[#{30}\] 3\/3 resources 100% .* ETA 0 s\x1b\[K\n$/);
    const log = (await run(false)).split('\n');
    expect(log.slice(1)).toEqual([expect.stringMatching(/^3\/3 resources 100% .* ETA 0 s$/), '']);
  });

  it('runs as npm run ingest: a summary with the failures on stdout, exit status 1', async () => {
    const { folder, stateFile } = await folderOf({
      'good.json': JSON.stringify(transaction(patient('good'))),
      'bad.json': JSON.stringify(transaction(patient('bad'))),
    });
    const server = await fakeServer((bundle, attempt) =>
      firstId(bundle) === 'bad' ? { status: 422, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'no' }] } } : succeed(bundle, attempt),
    );
    const cli = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../scripts/ingest.ts', import.meta.url)), folder, '--url', server.baseUrl, '--state', stateFile]);
    let stdout = '';
    cli.stdout.on('data', (chunk) => (stdout += chunk));
    const [code] = await once(cli, 'exit');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^Files {6}1 loaded, 1 failed, 0 already loaded\nResources {2}1 loaded, 1 failed, 0 already loaded\nElapsed .*\nFailed:\n {2}bad\.json: 422 no\n$/);
  });
});
