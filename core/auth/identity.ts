/**
 * Who is calling and what they may do, from an access token's verified claims. The Lambda
 * authorizer builds it from the token; the handlers rebuild it from the authorizer's context,
 * which carries the same facts under claim names (`authorizerContext`), so both go through
 * `identityFromClaims`.
 */
import { FhirError } from '../errors.js';
import { isValidId } from '../r4/ids.js';
import { parseTenantId, type TenantId } from '../tenant.js';
import { formatScope, parseScopes, type SmartScope } from './scopes.js';

export interface Identity {
  readonly tenant: TenantId;
  /** The token's `sub`: a user, or a backend client. */
  readonly subject: string;
  readonly clientId?: string;
  readonly scopes: readonly SmartScope[];
  /** Launch context: the id of the patient that `patient/` scopes confine access to. */
  readonly patient?: string;
  /** The user as a FHIR resource, e.g. `Practitioner/123` or its absolute URL. */
  readonly fhirUser?: string;
}

/**
 * What a Lambda authorizer hands API Gateway: values must be strings, numbers or booleans, so the
 * scopes travel as the space-separated `scope` claim does. The tenant is under `tenant` whatever
 * claim the token names it in.
 */
export type AuthorizerContext = Record<string, string>;

export const CONTEXT_TENANT_KEY = 'tenant';

/**
 * The identity a token's claims describe. No tenant claim, or no subject, is 401; a tenant that is
 * not a string or not a safe tenant id (e.g. containing `#`) is 403 (`parseTenantId`); a malformed
 * SMART scope is 401 (`parseScope`).
 */
export function identityFromClaims(claims: Readonly<Record<string, unknown>>, tenantClaim: string): Identity {
  const claimedTenant = claims[tenantClaim];
  if (claimedTenant === undefined) {
    throw FhirError.unauthorized(`The token carries no "${tenantClaim}" claim naming its tenant`);
  }
  const tenant = parseTenantId(claimedTenant);
  const clientId = stringClaim(claims, 'client_id') ?? stringClaim(claims, 'azp') ?? stringClaim(claims, 'cid');
  const subject = stringClaim(claims, 'sub') ?? clientId;
  if (!subject) {
    throw FhirError.unauthorized('The token names no subject ("sub")');
  }
  const patient = stringClaim(claims, 'patient');
  if (patient !== undefined && !isValidId(patient)) {
    throw FhirError.unauthorized('The token\'s "patient" launch context is not a FHIR id');
  }
  const fhirUser = stringClaim(claims, 'fhirUser');
  return {
    tenant,
    subject,
    scopes: parseScopes(scopesClaim(claims)),
    ...(clientId !== undefined && { clientId }),
    ...(patient !== undefined && { patient }),
    ...(fhirUser !== undefined && { fhirUser }),
  };
}

/** `scope` (OAuth 2.0, space-separated), else `scp` (Okta, Entra ID: an array or a string). */
function scopesClaim(claims: Readonly<Record<string, unknown>>): string | readonly string[] {
  for (const value of [claims.scope, claims.scp]) {
    if (typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'))) {
      return value as string | string[];
    }
  }
  return '';
}

function stringClaim(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The identity as authorizer context, readable again with `identityFromClaims(context, CONTEXT_TENANT_KEY)`. */
export function authorizerContext(identity: Identity): AuthorizerContext {
  return {
    [CONTEXT_TENANT_KEY]: identity.tenant,
    sub: identity.subject,
    scope: identity.scopes.map(formatScope).join(' '),
    ...(identity.clientId !== undefined && { client_id: identity.clientId }),
    ...(identity.patient !== undefined && { patient: identity.patient }),
    ...(identity.fhirUser !== undefined && { fhirUser: identity.fhirUser }),
  };
}
