/**
 * `npm run load` (scripts/load/): the reference workload's phases against the real local API with
 * DynamoDB Local's capacity beside them, and what it sends and counts against any server.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadReportTable } from '../../scripts/load/bounds.js';
import { runLoad } from '../../scripts/load/run.js';
import { useLocalApi } from '../support/local-api.js';
import { transaction, useScratchFolders } from './ingest-input.js';

const folderOf = useScratchFolders();
const quiet = () => undefined;

describe('npm run load against the local API', () => {
  const api = useLocalApi();

  it('runs every phase without an error, reads its own writes, and sets each phase against the emulator bound', async () => {
    const { folder } = await folderOf({
      'a.json': JSON.stringify(transaction({ resourceType: 'Patient', gender: 'male' }, { resourceType: 'Patient', gender: 'female' })),
      'b.json': JSON.stringify(transaction({ resourceType: 'Patient' })),
    });
    const report = await runLoad({
      baseUrl: api.baseUrl,
      n: 12,
      concurrency: 3,
      tenant: `load-${randomUUID().slice(0, 8)}`,
      bundlesDir: folder,
      bundleConcurrency: 2,
      maxBundles: 33,
      emulatorEndpoint: process.env.DYNAMODB_ENDPOINT,
      probeSeconds: 1,
      progress: quiet,
    });
    expect(report.phases.map((phase) => [phase.phase, phase.n, phase.errors])).toEqual([
      ['create', 12, 0],
      ['read', 12, 0],
      ['update', 12, 0],
      ['search', 12, 0],
      ['ingest', 2, 0],
    ]);
    expect(report.phases.find((phase) => phase.phase === 'search')?.fullPages).toBe(12);
    expect(report.phases.find((phase) => phase.phase === 'ingest')?.resources).toBe(3);
    for (const phase of ['create', 'read', 'update', 'search', 'ingest'] as const) {
      expect(report.bounds?.[phase].perSecond).toBeGreaterThan(0);
    }
    // A read needs a GetItem and a PutItem: its bound is below either rate alone.
    const rate = (probe: string) => report.emulator!.probes.find((figures) => figures.probe === probe)!.requestsPerSecond;
    expect(report.bounds!.read.perSecond).toBeLessThan(Math.min(rate('GetItem'), rate('PutItem')));
    expect(loadReportTable(report)).toMatch(/^read\s+12\s+0\s/m);
  });
});

describe('npm run load against any server', () => {
  it('sends the token and the tenant, counts failed answers and keeps what they said', async () => {
    const seen: { method?: string; url?: string; authorization?: string; tenant?: string }[] = [];
    let created = 0;
    const server = createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, tenant: req.headers['x-tenant-id'] as string });
      req.resume();
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/fhir+json');
        if (req.method === 'POST') {
          res.statusCode = 201;
          res.end(JSON.stringify({ resourceType: 'Patient', id: `p${created++}` }));
        } else if (req.method === 'GET' && req.url?.startsWith('/fhir/Patient/')) {
          res.statusCode = 503;
          res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'busy' }] }));
        } else {
          res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const report = await runLoad({ baseUrl: `http://127.0.0.1:${port}/fhir/`, n: 4, concurrency: 2, tenant: 't1', token: 'abc', bundleConcurrency: 1, maxBundles: 1, probeSeconds: 1, progress: quiet });
      expect(report.phases.map((phase) => [phase.phase, phase.errors])).toEqual([
        ['create', 0],
        ['read', 4],
        ['update', 0],
        ['search', 0],
      ]);
      expect(report.phases[1]!.failures[0]).toMatch(/^GET \/Patient\/p\d: HTTP 503 .*busy/);
      expect(report.emulator).toBeUndefined();
      expect(new Set(seen.map((request) => `${request.authorization} ${request.tenant}`))).toEqual(new Set(['Bearer abc t1']));
      expect(seen.filter((request) => request.method === 'POST').every((request) => request.url === '/fhir/Patient')).toBe(true);
    } finally {
      server.close();
    }
  });
});
