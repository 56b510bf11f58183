/**
 * POSTs one Bundle to the server's base URL. Transient failures (429, 5xx, no response) are
 * retried with exponential backoff and jitter, honouring `Retry-After`; any other status is the
 * unit's answer, reported with the server's OperationOutcome.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';

export interface Target {
  /** The FHIR base URL without a trailing slash; Bundles go to `<baseUrl>/`. */
  readonly baseUrl: string;
  /** Sent as `X-Tenant-ID` (the local server's tenant); the server's default when absent. */
  readonly tenant?: string;
  /** An access token, sent as `Authorization: Bearer`; a JWT-mode server takes the tenant from it. */
  readonly token?: string;
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Wait before the first retry; it doubles with each further one. */
  readonly baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500 };

const MAX_DELAY_MS = 30_000;

export type SendResult = { readonly ok: true } | { readonly ok: false; readonly status?: number; readonly message: string };

/** Fails at once, rather than after every unit's retries, when nothing answers at the URL. */
export async function checkServer(target: Target): Promise<void> {
  try {
    await (await fetch(`${target.baseUrl}/metadata`)).body?.cancel();
  } catch (error) {
    throw new Error(`No server answers at ${target.baseUrl} (${networkError(error)}): start one (npm start) or pass --url`);
  }
}

export async function postBundle(target: Target, body: string, retry: RetryPolicy): Promise<SendResult> {
  const url = `${target.baseUrl}/`;
  const headers: Record<string, string> = {
    'content-type': 'application/fhir+json',
    accept: 'application/fhir+json',
    // The transaction-response needs only each entry's status and location.
    prefer: 'return=minimal',
    ...(target.tenant === undefined ? {} : { 'x-tenant-id': target.tenant }),
    ...(target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }),
  };
  for (let attempt = 1; ; attempt++) {
    let result: SendResult;
    let retryAfterMs: number | undefined;
    try {
      const response = await fetch(url, { method: 'POST', headers, body });
      const text = await response.text();
      result = response.ok ? failedEntries(text) : { ok: false, status: response.status, message: responseText(text) };
      if (!isTransient(response.status)) {
        return result;
      }
      retryAfterMs = retryAfter(response.headers.get('retry-after'));
    } catch (error) {
      result = { ok: false, message: `no response: ${networkError(error)}` };
    }
    if (attempt >= retry.attempts) {
      return result;
    }
    await sleep(retryAfterMs ?? backoff(retry.baseDelayMs, attempt));
  }
}

function isTransient(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Between half and all of the doubled delay (jitter), so that concurrent workers spread out. */
function backoff(baseDelayMs: number, attempt: number): number {
  const delay = Math.min(MAX_DELAY_MS, baseDelayMs * 2 ** (attempt - 1));
  return delay / 2 + Math.random() * (delay / 2);
}

/** `Retry-After` in seconds (the HTTP-date form is left to the backoff). */
function retryAfter(header: string | null): number | undefined {
  const seconds = header === null ? NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(MAX_DELAY_MS, seconds * 1000) : undefined;
}

function networkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/**
 * A 2xx transaction-response means every entry succeeded; a batch-response does not, so its
 * failed entries make the unit fail too (sending it again is the way to retry them).
 */
function failedEntries(text: string): SendResult {
  const bundle = parseJson(text) as Bundle | undefined;
  const failed = (bundle?.entry ?? []).flatMap(({ response }, index) => {
    const status = Number.parseInt(response?.status ?? '', 10);
    return status >= 200 && status < 300 ? [] : [`entry[${index}] ${response?.status}: ${issuesText(response?.outcome) ?? 'no outcome'}`];
  });
  return failed.length === 0 ? { ok: true } : { ok: false, message: failed.join('; ') };
}

/** The OperationOutcome's issues, or the body itself when it is not one. */
function responseText(text: string): string {
  return issuesText(parseJson(text)) ?? (text.length > 500 ? `${text.slice(0, 500)}…` : text || '(empty response)');
}

/** Each issue as `expression: diagnostics`; undefined when `value` is not an OperationOutcome with issues. */
function issuesText(value: unknown): string | undefined {
  const outcome = value as OperationOutcome | undefined;
  if (outcome?.resourceType !== 'OperationOutcome' || !outcome.issue?.length) {
    return undefined;
  }
  return outcome.issue
    .map((issue) => {
      const text = issue.diagnostics ?? issue.details?.text ?? issue.code;
      return issue.expression?.length ? `${issue.expression.join(', ')}: ${text}` : text;
    })
    .join('; ');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
