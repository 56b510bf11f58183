/**
 * Who may export (JWT mode: the identity the Lambda authorizer hands the handlers): system/
 * scopes for every type exported — `system/*.rs`, or `system/Type.rs` for each type of `_type`;
 * patient/ and user/ scopes never, even with `*.rs`. Refusals and kick-offs are audited. And the
 * status URL is the kicking-off client's alone.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuditLog } from '../../core/audit/audit-log.js';
import { authorizerContext, type Identity } from '../../core/auth/identity.js';
import { parseScopes } from '../../core/auth/scopes.js';
import { config } from '../../core/config.js';
import { createDocumentClient } from '../../core/storage/dynamo-client.js';
import { parseTenantId } from '../../core/tenant.js';
import { createLocalExportWorker } from '../../scripts/local/export-worker.js';
import { type LocalMessaging, startLocalMessaging } from '../../scripts/local/messaging.js';
import { invoke } from '../support/proxy-event.js';

process.env.FHIR_AUTH_MODE = 'jwt';

const tenant = `exp-scopes-${randomUUID().slice(0, 8)}`;
let messaging: LocalMessaging;

beforeAll(async () => {
  messaging = await startLocalMessaging();
  // The queue is there but not polled: these tests only kick off.
  const worker = await createLocalExportWorker(messaging, { bucket: `scopes-${randomUUID().slice(0, 8)}` });
  Object.assign(process.env, messaging.env, worker.env);
});

afterAll(async () => {
  await messaging?.stop();
});

function as(scope: string, patient?: string): Identity {
  return { tenant: parseTenantId(tenant), subject: `client-${scope}`, scopes: parseScopes(scope), ...(patient ? { patient } : {}) };
}

const ASYNC = { prefer: 'respond-async' };

it.each([
  ['system/*.rs', 'search', '/$export', [], 202],
  ['system/Observation.rs system/Patient.rs', 'search', '/$export', [['_type', 'Observation,Patient']], 202],
  ['system/Observation.rs', 'search', '/$export', [], 403],
  ['system/Observation.rs', 'search', '/$export', [['_type', 'Observation,Patient']], 403],
  ['system/*.r', 'search', '/$export', [], 403],
  ['patient/*.rs', 'read', '/Patient/$export', [], 403],
  ['user/*.cruds', 'search', '/$export', [], 403],
] as const)('%s: %s %s %j → %i', async (scope, functionName, path, query, status) => {
  const who = as(scope, scope.startsWith('patient/') ? 'p1' : undefined);
  const response = await invoke(functionName, {
    method: 'GET',
    path,
    query: query.map(([name, value]) => [name, value] as const),
    headers: ASYNC,
    tenant,
    authorizer: authorizerContext(who),
  });
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  if (status === 403) {
    expect(response.json.issue[0].diagnostics).toMatch(/system\//);
  }
});

it('the status URL answers only the client that kicked the export off; both are audited', async () => {
  const owner = as('system/*.rs');
  const kickOff = await invoke('search', { method: 'GET', path: '/$export', headers: ASYNC, tenant, authorizer: authorizerContext(owner) });
  expect(kickOff.status).toBe(202);
  const exportId = String(kickOff.json.issue[0].diagnostics).match(/Export ([0-9a-f-]{36})/)?.[1] as string;
  const path = `/_export/${exportId}`;
  const poll = (who: Identity) => invoke('export', { method: 'GET', path, pathParameters: { id: exportId }, tenant, authorizer: authorizerContext(who) });
  expect((await poll(as('system/*.cruds'))).status).toBe(404);
  expect((await poll(owner)).status).toBe(202);
  const { events: audits } = await new AuditLog(createDocumentClient(config()), config().tableName).query(
    parseTenantId(tenant),
    { from: new Date(Date.now() - 60_000).toISOString(), to: new Date(Date.now() + 1000).toISOString() },
    { limit: 100 },
  );
  const references = audits.flatMap((event) => (event.entity ?? []).map((entity) => entity.what?.reference));
  expect(references).toContain(`_export/${exportId}`);
  expect(audits.some((event) => event.outcome === '4' && event.agent?.[0].who?.identifier?.value === 'client-patient/*.rs')).toBe(true);
});
