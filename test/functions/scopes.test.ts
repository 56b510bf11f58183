/**
 * SMART on FHIR scopes, enforced by the router for every interaction (SMART App Launch 2.0,
 * scopes-and-launch-context): each case is an identity as the Lambda authorizer hands it to the
 * handlers (JWT mode), a request, and what the user must see — the status, and for searches and
 * Bundles exactly which resources come back. `patient/` scopes confine everything to the launch
 * patient's compartment: outside it is 403 for direct access and absent from searches, includes
 * and history. Refusals are audited.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../core/audit/audit-log.js';
import { authorizerContext, type Identity } from '../../core/auth/identity.js';
import { parseScopes } from '../../core/auth/scopes.js';
import { createDocumentClient } from '../../core/storage/dynamo-client.js';
import { config } from '../../core/config.js';
import { parseTenantId } from '../../core/tenant.js';
import type { FUNCTIONS } from '../../functions/routes.js';
import { invoke, type ProxyResponse } from '../support/proxy-event.js';

// The handlers read the caller from the authorizer's context, as deployed (not X-Tenant-ID).
process.env.FHIR_AUTH_MODE = 'jwt';

const tenant = `scopes-${randomUUID().slice(0, 8)}`;

function identity(scope: string, patient?: string): Identity {
  return { tenant: parseTenantId(tenant), subject: `app-${scope}`, scopes: parseScopes(scope), ...(patient ? { patient } : {}) };
}

/** Which function API Gateway sends each method and path shape to (functions/routes.ts). */
function functionFor(method: string, path: string): keyof typeof FUNCTIONS {
  const segments = path.split('?')[0].split('/').filter(Boolean);
  if (method === 'GET') {
    if (segments[0] === 'metadata') return 'metadata';
    if (segments.at(-2) === '_history') return 'vread';
    if (segments.at(-1) === '_history') return 'history';
    return segments.length === 2 ? 'read' : 'search';
  }
  if (method === 'POST') return segments.length === 0 ? 'bundle' : segments.at(-1)?.startsWith('$') ? 'validate' : segments.at(-1) === '_search' ? 'search' : 'create';
  return ({ PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const)[method as 'PUT' | 'PATCH' | 'DELETE'];
}

async function send(who: Identity | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ProxyResponse> {
  const [pathPart, queryPart] = path.split('?');
  const query = [...new URLSearchParams(queryPart ?? '')].map(([name, value]) => [name, value] as const);
  return invoke(functionFor(method, pathPart), {
    method,
    path: pathPart,
    query,
    body,
    headers: { 'x-tenant-id': 'ignored-in-jwt-mode', ...(method === 'PATCH' ? { 'content-type': 'application/json-patch+json' } : {}), ...headers },
    tenant,
    authorizer: who && authorizerContext(who),
  });
}

const ids = (bundle: Bundle, mode: 'match' | 'include' = 'match'): string[] =>
  (bundle.entry ?? []).filter((entry) => entry.search?.mode === mode).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`).sort();

const system = identity('system/*.cruds');
let pa: string;
let pb: string;
let oa: string;
let ob: string;
let practitioner: string;

const observation = (patient: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:scopes', code: 'pulse' }] }, subject: { reference: `Patient/${patient}` }, ...extra });

async function create(resource: Record<string, unknown>): Promise<string> {
  const response = await send(system, 'POST', `/${resource.resourceType as string}`, resource);
  expect(response.status).toBe(201);
  return response.json.id;
}

beforeAll(async () => {
  pa = await create({ resourceType: 'Patient', name: [{ family: 'Alpha' }], identifier: [{ system: 'urn:scopes', value: 'a' }] });
  pb = await create({ resourceType: 'Patient', name: [{ family: 'Beta' }], identifier: [{ system: 'urn:scopes', value: 'b' }] });
  practitioner = await create({ resourceType: 'Practitioner', name: [{ family: 'Doc' }] });
  oa = await create(observation(pa, { performer: [{ reference: `Practitioner/${practitioner}` }] }));
  ob = await create(observation(pb, { performer: [{ reference: `Practitioner/${practitioner}` }] }));
});

const user = {
  all: identity('user/*.cruds'),
  patientRs: identity('user/Patient.rs'),
  observationR: identity('user/Observation.r'),
  v1Read: identity('user/*.read'),
  v1PatientWrite: identity('user/Patient.write'),
  none: identity('openid fhirUser'),
};
const patientA = {
  rs: () => identity('patient/*.rs', pa),
  observationRs: () => identity('patient/Observation.rs', pa),
  cruds: () => identity('patient/*.cruds', pa),
  withoutLaunchContext: () => identity('patient/*.rs'),
};

describe('direct access: the status each scope gets', () => {
  const cases: [string, () => Identity | undefined, string, () => string, unknown?][] = [
    ['system/*.cruds reads a Patient', () => system, 'GET', () => `/Patient/${pa}`],
    ['user/*.cruds reads an Observation', () => user.all, 'GET', () => `/Observation/${ob}`],
    ['user/Patient.rs reads a Patient', () => user.patientRs, 'GET', () => `/Patient/${pa}`],
    ['user/Patient.rs searches Patients', () => user.patientRs, 'GET', () => '/Patient?family=Alpha'],
    ['user/Observation.r reads an Observation', () => user.observationR, 'GET', () => `/Observation/${oa}`],
    ['user/*.read (v1) reads', () => user.v1Read, 'GET', () => `/Patient/${pa}`],
    ['user/*.read (v1) searches', () => user.v1Read, 'GET', () => '/Observation?code=pulse'],
    ['patient/*.rs reads its patient', patientA.rs, 'GET', () => `/Patient/${pa}`],
    ['patient/*.rs reads its Observation', patientA.rs, 'GET', () => `/Observation/${oa}`],
    ['patient/*.rs vreads its Observation', patientA.rs, 'GET', () => `/Observation/${oa}/_history/1`],
    ['patient/*.rs reads its Observation history', patientA.rs, 'GET', () => `/Observation/${oa}/_history`],
    ['patient/*.rs searches its compartment', patientA.rs, 'GET', () => `/Patient/${pa}/Observation`],
    ['system/*.cruds searches several types', () => system, 'GET', () => '/?_type=Patient,Observation&_id=x'],
    ['user/*.cruds validates', () => user.all, 'POST', () => '/Patient/$validate', { resourceType: 'Patient' }],
    ['GET /metadata needs no token', () => undefined, 'GET', () => '/metadata'],
  ];
  it.each(cases)('%s → 200', async (_name, who, method, path, body) => {
    expect((await send(who(), method, path(), body)).status).toBe(200);
  });

  const refused: [string, () => Identity | undefined, string, () => string, unknown?, RegExp?][] = [
    ['user/Patient.rs reading an Observation', () => user.patientRs, 'GET', () => `/Observation/${oa}`, undefined, /user\/Observation\.r/],
    ['user/Patient.rs creating a Patient', () => user.patientRs, 'POST', () => '/Patient', { resourceType: 'Patient' }, /create of Patient needs .*user\/Patient\.c/],
    ['user/Patient.rs updating a Patient', () => user.patientRs, 'PUT', () => `/Patient/${pa}`, { resourceType: 'Patient', id: 'x' }],
    ['user/Patient.rs patching a Patient', () => user.patientRs, 'PATCH', () => `/Patient/${pa}`, [{ op: 'add', path: '/active', value: true }]],
    ['user/Patient.rs deleting a Patient', () => user.patientRs, 'DELETE', () => `/Patient/${pa}`],
    ['user/Patient.rs conditionally updating', () => user.patientRs, 'PUT', () => '/Patient?identifier=urn:scopes|a', { resourceType: 'Patient' }],
    ['user/Patient.rs validating (a dry-run create)', () => user.patientRs, 'POST', () => '/Patient/$validate', { resourceType: 'Patient' }],
    ['user/Patient.rs searching two types', () => user.patientRs, 'GET', () => '/?_type=Patient,Observation'],
    ['user/Patient.rs searching every type', () => user.patientRs, 'GET', () => '/?_id=x'],
    ['user/Observation.r searching (no s)', () => user.observationR, 'GET', () => '/Observation?code=pulse', undefined, /search of Observation/],
    ['user/Observation.r reading history of the type (a search)', () => user.observationR, 'GET', () => '/Observation/_history'],
    ['user/*.read (v1) creating', () => user.v1Read, 'POST', () => '/Patient', { resourceType: 'Patient' }],
    ['user/Patient.write (v1) reading', () => user.v1PatientWrite, 'GET', () => `/Patient/${pa}`],
    ['a token with no resource scope', () => user.none, 'GET', () => `/Patient/${pa}`],
    ['patient/ scopes without a launch patient', patientA.withoutLaunchContext, 'GET', () => `/Patient/${pa}`, undefined, /launch context/],
    ['patient/*.rs reading another patient', patientA.rs, 'GET', () => `/Patient/${pb}`, undefined, /outside the patient compartment/],
    ['patient/*.rs reading another patient’s Observation', patientA.rs, 'GET', () => `/Observation/${ob}`],
    ['patient/*.rs vreading another patient’s Observation', patientA.rs, 'GET', () => `/Observation/${ob}/_history/1`],
    ['patient/*.rs reading another patient’s history', patientA.rs, 'GET', () => `/Observation/${ob}/_history`],
    ['patient/*.rs searching another compartment', patientA.rs, 'GET', () => `/Patient/${pb}/Observation`],
    ['patient/*.rs reading a Practitioner (outside the compartment)', patientA.rs, 'GET', () => `/Practitioner/${practitioner}`],
    ['patient/*.rs creating (no c)', patientA.rs, 'POST', () => '/Observation', observation('x')],
    ['patient/Observation.rs chaining into Patient (no Patient.s)', patientA.observationRs, 'GET', () => '/Observation?subject:Patient.family=Beta', undefined, /search of Patient/],
    ['patient/Observation.rs using _has from Patient', patientA.observationRs, 'GET', () => '/Patient?_has:Observation:subject:code=pulse'],
    ['patient/*.cruds creating for another patient', patientA.cruds, 'POST', () => '/Observation', 'other-patient'],
    ['patient/*.cruds updating another patient’s Observation', patientA.cruds, 'PUT', () => `/Observation/${ob}`, 'ob-update'],
    ['patient/*.cruds moving its Observation to another patient', patientA.cruds, 'PUT', () => `/Observation/${oa}`, 'oa-to-b'],
    ['patient/*.cruds patching its Observation onto another patient', patientA.cruds, 'PATCH', () => `/Observation/${oa}`, 'patch-to-b'],
    ['patient/*.cruds deleting another patient’s Observation', patientA.cruds, 'DELETE', () => `/Observation/${ob}`],
    ['patient/*.cruds conditionally deleting another patient’s Observation', patientA.cruds, 'DELETE', () => `/Observation?_id=${ob}`],
    ['patient/*.cruds conditionally creating onto another patient’s match', patientA.cruds, 'POST', () => '/Observation', 'conditional-b'],
  ];
  const bodies = (name: unknown): { body: unknown; headers?: Record<string, string> } => {
    switch (name) {
      case 'other-patient':
        return { body: observation(pb) };
      case 'ob-update':
        return { body: { ...observation(pb), id: ob } };
      case 'oa-to-b':
        return { body: { ...observation(pb), id: oa } };
      case 'patch-to-b':
        return { body: [{ op: 'replace', path: '/subject/reference', value: `Patient/${pb}` }] };
      case 'conditional-b':
        return { body: observation(pa), headers: { 'if-none-exist': `_id=${ob}` } };
      default:
        return { body: name };
    }
  };
  it.each(refused)('%s → 403', async (_name, who, method, path, body, says) => {
    const { body: sent, headers } = bodies(body);
    const response = await send(who(), method, path(), sent, headers);
    expect(response.status).toBe(403);
    expect(response.json.resourceType).toBe('OperationOutcome');
    expect(response.json.issue[0].code).toBe('forbidden');
    if (says) {
      expect(response.json.issue[0].diagnostics).toMatch(says);
    }
  });

  it('nothing a refused write sent was stored', async () => {
    const history = await send(system, 'GET', `/Observation/${ob}/_history`);
    expect(history.json.entry).toHaveLength(1);
    const moved = await send(system, 'GET', `/Observation/${oa}`);
    expect(moved.json.subject.reference).toBe(`Patient/${pa}`);
    expect((await send(system, 'GET', `/Observation?subject=Patient/${pb}`)).json.entry.map((entry: BundleEntry) => entry.resource?.id)).toEqual([ob]);
  });

  it('no authorizer context → 401 OperationOutcome', async () => {
    const response = await send(undefined, 'GET', `/Patient/${pa}`);
    expect(response.status).toBe(401);
    expect(response.json.resourceType).toBe('OperationOutcome');
  });

  it('patient/*.cruds writes inside its compartment', async () => {
    const created = await send(patientA.cruds(), 'POST', '/Observation', observation(pa));
    expect(created.status).toBe(201);
    expect((await send(patientA.cruds(), 'PATCH', `/Observation/${created.json.id}`, [{ op: 'add', path: '/valueString', value: 'ok' }])).status).toBe(200);
    expect((await send(patientA.cruds(), 'DELETE', `/Observation/${created.json.id}`)).status).toBe(204);
  });
});

describe('searches: what lies outside the compartment or the scopes is absent', () => {
  const cases: [string, () => Identity, () => string, () => { match: string[]; include?: string[] }][] = [
    ['a type search returns only the compartment', patientA.rs, () => '/Observation?code=pulse', () => ({ match: [`Observation/${oa}`] })],
    ['asking for another patient’s resources finds nothing', patientA.rs, () => `/Observation?subject=Patient/${pb}`, () => ({ match: [] })],
    ['asking by _id for another patient’s resource finds nothing', patientA.rs, () => `/Observation?_id=${ob},${oa}`, () => ({ match: [`Observation/${oa}`] })],
    ['Patient search finds only the launch patient', patientA.rs, () => '/Patient?identifier=urn:scopes|a,urn:scopes|b', () => ({ match: [`Patient/${pa}`] })],
    ['_include leaves out what lies outside (the Practitioner)', patientA.rs, () => '/Observation?_include=Observation:performer&_include=Observation:subject', () => ({ match: [`Observation/${oa}`], include: [`Patient/${pa}`] })],
    ['_revinclude leaves out other patients’ resources', patientA.rs, () => '/Patient?_revinclude=Observation:subject', () => ({ match: [`Patient/${pa}`], include: [`Observation/${oa}`] })],
    ['_include of a type the scopes do not read is left out', patientA.observationRs, () => '/Observation?_include=Observation:subject', () => ({ match: [`Observation/${oa}`], include: [] })],
    ['a chain to another patient matches nothing', patientA.rs, () => '/Observation?subject:Patient.family=Beta', () => ({ match: [] })],
    ['_has from another patient’s Observation matches nothing', patientA.rs, () => `/Patient?_has:Observation:subject:_id=${ob}`, () => ({ match: [] })],
    ['_include of a type the scopes do not read is left out (user/)', () => identity('user/Patient.rs user/Observation.s'), () => `/Observation?subject=Patient/${pa}&_include=Observation:performer`, () => ({ match: [`Observation/${oa}`], include: [] })],
    ['user/*.rs sees everything', () => identity('user/*.rs'), () => '/Observation?code=pulse&_include=Observation:performer', () => ({ match: [`Observation/${oa}`, `Observation/${ob}`], include: [`Practitioner/${practitioner}`] })],
  ];
  it.each(cases)('%s', async (_name, who, path, expected) => {
    const response = await send(who(), 'GET', path());
    const wanted = expected();
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    expect(ids(response.json)).toEqual(wanted.match.sort());
    if (wanted.include) {
      expect(ids(response.json, 'include')).toEqual(wanted.include.sort());
    }
  });

  it('type history shows only the compartment’s versions', async () => {
    const response = await send(patientA.rs(), 'GET', '/Observation/_history');
    expect(response.status).toBe(200);
    const seen = new Set((response.json.entry as BundleEntry[]).map((entry) => `${entry.resource?.resourceType}/${entry.resource?.id}`));
    expect(seen.has(`Observation/${oa}`)).toBe(true);
    expect(seen.has(`Observation/${ob}`)).toBe(false);
  });
});

describe('Bundles: every entry is checked as the same request would be', () => {
  const entry = (method: string, url: string, resource?: Resource) => ({ ...(resource ? { resource } : {}), request: { method, url } });
  const bundle = (type: 'batch' | 'transaction', entries: unknown[]) => ({ resourceType: 'Bundle', type, entry: entries });

  it('a batch answers each entry by its own scope check', async () => {
    const response = await send(
      user.patientRs,
      'POST',
      '/',
      bundle('batch', [entry('GET', `Patient/${pa}`), entry('GET', `Observation/${oa}`), entry('POST', 'Patient', { resourceType: 'Patient' }), entry('GET', 'Patient?family=Beta')]),
    );
    expect(response.status).toBe(200);
    expect(response.json.entry.map((found: BundleEntry) => found.response?.status)).toEqual(['200 OK', '403 Forbidden', '403 Forbidden', '200 OK']);
  });

  it('a batch under patient/ scopes sees only the compartment', async () => {
    const response = await send(patientA.rs(), 'POST', '/', bundle('batch', [entry('GET', `Observation/${oa}`), entry('GET', `Observation/${ob}`), entry('GET', 'Observation?code=pulse')]));
    expect(response.json.entry.map((found: BundleEntry) => found.response?.status)).toEqual(['200 OK', '403 Forbidden', '200 OK']);
    expect(ids(response.json.entry[2].resource)).toEqual([`Observation/${oa}`]);
  });

  it('a transaction with one entry the scopes refuse writes nothing (403)', async () => {
    const marker = `tx-${randomUUID()}`;
    const response = await send(user.v1PatientWrite, 'POST', '/', bundle('transaction', [entry('POST', 'Patient', { resourceType: 'Patient', name: [{ family: marker }] } as Resource), entry('POST', 'Observation', observation(pa) as Resource)]));
    expect(response.status).toBe(403);
    expect(response.json.issue[0].diagnostics).toMatch(/Bundle\.entry\[1\]/);
    expect((await send(system, 'GET', `/Patient?family=${marker}`)).json.entry ?? []).toEqual([]);
  });

  it('a transaction under patient/ scopes may not write outside the compartment', async () => {
    const outside = await send(patientA.cruds(), 'POST', '/', bundle('transaction', [entry('POST', 'Observation', observation(pb) as Resource)]));
    expect(outside.status).toBe(403);
    const inside = await send(patientA.cruds(), 'POST', '/', bundle('transaction', [entry('POST', 'Observation', observation(pa) as Resource)]));
    expect(inside.status).toBe(200);
    expect(inside.json.entry[0].response.status).toBe('201 Created');
  });
});

describe('refusals are audited', () => {
  it('a 403 leaves an AuditEvent with outcome 4 naming who was refused', async () => {
    const before = new Date().toISOString();
    const who = identity('user/Patient.rs');
    expect((await send(who, 'DELETE', `/Patient/${pb}`)).status).toBe(403);
    expect((await send(who, 'GET', `/Observation/${ob}`)).status).toBe(403);
    const log = new AuditLog(createDocumentClient(config()), config().tableName);
    const page = await log.query(parseTenantId(tenant), { from: before, to: new Date(Date.now() + 1000).toISOString() }, { limit: 100 });
    const refusals = page.events.filter((event) => event.agent?.[0]?.who?.identifier?.value === who.subject);
    expect(refusals.map((event) => [event.subtype?.[0]?.code, event.outcome]).sort()).toEqual([
      ['delete', '4'],
      ['read', '4'],
    ]);
  });
});
