/**
 * One request path: a request sent over HTTP and the same request sent as a batch entry get the
 * same answer — status, resource, OperationOutcome, ETag, Last-Modified and Location — for every
 * interaction. Reads, searches and history are compared on the same data; writes run each
 * transport on its own resource and are compared with the ids and timestamps the write itself
 * chose put in place.
 */
import { randomUUID } from 'node:crypto';
import type { BundleEntry } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, useLocalApi } from '../support/local-api.js';

const api = useLocalApi();
const tenant = `path-${randomUUID().slice(0, 8)}`;
const SYSTEM = 'urn:test:one-path';

interface Sent {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Relative to the base, as a Bundle entry's request.url. */
  readonly url: string;
  readonly body?: unknown;
  readonly ifMatch?: string;
  readonly ifNoneExist?: string;
}

/** What a client sees of one answer, whichever transport carried it. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly location?: string;
}

function fromHttp(response: ApiResponse): Answer {
  const lastModified = response.headers.get('last-modified');
  return {
    status: response.status,
    body: response.text === '' ? undefined : response.json,
    etag: response.headers.get('etag') ?? undefined,
    // HTTP dates have second precision; the entry's instant is compared at the same precision.
    lastModified: lastModified ? new Date(lastModified).toISOString() : undefined,
    location: response.headers.get('location') ?? undefined,
  };
}

function fromEntry(entry: BundleEntry): Answer {
  const { response } = entry;
  const lastModified = response?.lastModified;
  return {
    status: Number(response?.status.split(' ')[0]),
    body: entry.resource ?? response?.outcome,
    etag: response?.etag,
    lastModified: lastModified ? new Date(Math.floor(Date.parse(lastModified) / 1000) * 1000).toISOString() : undefined,
    location: response?.location,
  };
}

async function overHttp(sent: Sent): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (sent.ifMatch) headers['if-match'] = sent.ifMatch;
  if (sent.ifNoneExist) headers['if-none-exist'] = sent.ifNoneExist;
  if (sent.method === 'PATCH') headers['content-type'] = 'application/json-patch+json';
  return fromHttp(await api.request(sent.method, `/${sent.url}`, { body: sent.body, headers, tenant }));
}

async function asBatchEntry(sent: Sent): Promise<Answer> {
  const resource =
    sent.method === 'PATCH'
      ? { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(sent.body)).toString('base64') }
      : sent.body;
  const entry = { ...(resource ? { resource } : {}), request: { method: sent.method, url: sent.url, ifMatch: sent.ifMatch, ifNoneExist: sent.ifNoneExist } };
  const response = await api.request('POST', '/', { body: { resourceType: 'Bundle', type: 'batch', entry: [entry] }, tenant });
  expect(response.status).toBe(200);
  return fromEntry(response.json.entry[0]);
}

/** The audit and paging cursors differ per request; everything a client compares must not. */
function withoutVolatile(answer: Answer): Answer {
  const text = JSON.stringify(answer).replace(/_cursor=[^"&]+/g, '_cursor=…');
  return JSON.parse(text) as Answer;
}

const patient = (family: string) => ({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value: family }], name: [{ family }], gender: 'female' });

let existing: { id: string; version: number };

beforeAll(async () => {
  const created = await api.request('POST', '/Patient', { body: patient('Existing'), tenant });
  existing = { id: created.json.id, version: 1 };
  await api.request('PUT', `/Patient/${existing.id}`, { body: { ...patient('Existing'), id: existing.id, active: true }, tenant });
  existing = { ...existing, version: 2 };
  await api.request('POST', '/Observation', { body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${existing.id}` } }, tenant });
});

describe('the same read-only request over HTTP and as a batch entry', () => {
  const cases: [string, () => Sent][] = [
    ['read', () => ({ method: 'GET', url: `Patient/${existing.id}` })],
    ['vread', () => ({ method: 'GET', url: `Patient/${existing.id}/_history/1` })],
    ['read of an unknown id (404)', () => ({ method: 'GET', url: 'Patient/nobody-here' })],
    ['vread of an unknown version (404)', () => ({ method: 'GET', url: `Patient/${existing.id}/_history/9` })],
    ['type search with paging', () => ({ method: 'GET', url: `Patient?identifier=${SYSTEM}|Existing&_count=1` })],
    ['search with an ignored parameter', () => ({ method: 'GET', url: 'Patient?family=Existing&unknown-param=1' })],
    ['search with _include and _summary', () => ({ method: 'GET', url: `Observation?subject=Patient/${existing.id}&_include=Observation:subject&_elements=status` })],
    ['compartment search', () => ({ method: 'GET', url: `Patient/${existing.id}/Observation` })],
    ['system search', () => ({ method: 'GET', url: '?_type=Patient&family=Existing' })],
    ['a malformed search (400)', () => ({ method: 'GET', url: 'Patient?birthdate=yesterday' })],
    ['instance history', () => ({ method: 'GET', url: `Patient/${existing.id}/_history` })],
    ['type history', () => ({ method: 'GET', url: 'Patient/_history?_count=2' })],
    ['$validate', () => ({ method: 'POST', url: 'Patient/$validate', body: { resourceType: 'Patient', gender: 'nope' } })],
    ['an unknown operation (404)', () => ({ method: 'POST', url: 'Patient/$everything', body: { resourceType: 'Parameters' } })],
    ['an unknown resource type search (404)', () => ({ method: 'GET', url: 'Patientx?name=a' })],
  ];

  it.each(cases)('%s', async (_name, sent) => {
    const http = await overHttp(sent());
    const entry = await asBatchEntry(sent());
    // A Bundle entry's error is pointed at the entry; only the status and issue codes must agree.
    if (http.status >= 400) {
      expect(entry.status).toBe(http.status);
      expect((entry.body as { issue: { code: string }[] }).issue.map((issue) => issue.code)).toEqual((http.body as { issue: { code: string }[] }).issue.map((issue) => issue.code));
      return;
    }
    expect(withoutVolatile(entry)).toEqual(withoutVolatile(http));
  });
});

describe('the same write over HTTP and as a batch entry', () => {
  /** Puts the id, lastUpdated and location a write chose in the answer, so two writes compare. */
  function normalized(answer: Answer): Answer {
    const body = answer.body as { id?: string; meta?: { lastUpdated?: string } } | undefined;
    const text = JSON.stringify(answer)
      .replaceAll(body?.id ?? '\u0000', '<id>')
      .replace(/"lastUpdated":"[^"]+"/g, '"lastUpdated":"<t>"')
      .replace(/"lastModified":"[^"]+"/g, '"lastModified":"<t>"')
      .replace(/\/Patient\/[^/"]+\/_history/g, '/Patient/<id>/_history')
      .replace(/Patient\/[A-Za-z0-9.-]+ version/g, 'Patient/<id> version');
    return JSON.parse(text) as Answer;
  }

  async function freshPatient(): Promise<string> {
    return (await api.request('POST', '/Patient', { body: patient('Fresh'), tenant })).json.id;
  }

  const writes: [string, (id: string) => Sent][] = [
    ['create', () => ({ method: 'POST', url: 'Patient', body: patient('Created') })],
    ['conditional create that finds its match (200)', () => ({ method: 'POST', url: 'Patient', body: patient('Existing'), ifNoneExist: `identifier=${SYSTEM}|Existing` })],
    ['update', (id) => ({ method: 'PUT', url: `Patient/${id}`, body: { ...patient('Updated'), id }, ifMatch: 'W/"1"' })],
    ['update with a stale If-Match (412)', (id) => ({ method: 'PUT', url: `Patient/${id}`, body: { ...patient('Updated'), id }, ifMatch: 'W/"7"' })],
    ['patch', (id) => ({ method: 'PATCH', url: `Patient/${id}`, body: [{ op: 'add', path: '/active', value: false }] })],
    ['delete', (id) => ({ method: 'DELETE', url: `Patient/${id}` })],
    ['an invalid resource (400)', () => ({ method: 'POST', url: 'Patient', body: { resourceType: 'Patient', gender: 'nope' } })],
  ];

  it.each(writes)('%s', async (_name, sent) => {
    const http = await overHttp(sent(await freshPatient()));
    const entry = await asBatchEntry(sent(await freshPatient()));
    if (http.status >= 400) {
      expect(entry.status).toBe(http.status);
      return;
    }
    expect(normalized(entry)).toEqual(normalized(http));
  });
});
