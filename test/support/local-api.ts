/**
 * The local HTTP server (the same one `npm start` runs) inside the test process, and a small
 * fetch wrapper for FHIR requests against it.
 *
 *   const api = useLocalApi();
 *   const { status, json } = await api.request('POST', '/Patient', { body: patient, tenant: 't1' });
 */
import { afterAll, beforeAll } from 'vitest';
import { type LocalApi, type LocalApiOptions, startLocalApi } from '../../scripts/local/http-server.js';

export interface RequestOptions {
  /** Objects are sent as JSON; strings and bytes as they are. */
  readonly body?: unknown;
  /** Override the defaults (`content-type: application/fhir+json`), case-insensitively. */
  readonly headers?: Record<string, string>;
  /** Sent as `X-Tenant-ID`. */
  readonly tenant?: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed body when the response is JSON, else undefined; `any` because tests read arbitrary FHIR. */
  readonly json: any;
  readonly text: string;
}

export interface LocalApiClient {
  readonly baseUrl: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
}

/** Starts the server on a free port in `beforeAll` and closes it in `afterAll`. */
export function useLocalApi(options: Omit<LocalApiOptions, 'port'> = {}): LocalApiClient {
  let api: LocalApi | undefined;
  beforeAll(async () => {
    api = await startLocalApi({ ...options, port: 0 });
  });
  afterAll(async () => {
    await api?.close();
  });
  const started = (): LocalApi => {
    if (!api) {
      throw new Error('useLocalApi(): the server starts in beforeAll; use it inside tests or later hooks');
    }
    return api;
  };
  return {
    get baseUrl() {
      return started().baseUrl;
    },
    request: (method, path, requestOptions) => request(started().baseUrl, method, path, requestOptions),
  };
}

export async function request(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers = new Headers({ 'content-type': 'application/fhir+json' });
  if (options.tenant !== undefined) {
    headers.set('x-tenant-id', options.tenant);
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    headers.set(name, value);
  }
  const response = await fetch(baseUrl + path, { method, headers, body: requestBody(options.body) });
  const text = await response.text();
  const isJson = /json/i.test(response.headers.get('content-type') ?? '');
  return { status: response.status, headers: response.headers, json: isJson && text ? JSON.parse(text) : undefined, text };
}

function requestBody(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
    return body;
  }
  return JSON.stringify(body);
}
