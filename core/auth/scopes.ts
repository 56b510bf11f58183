/**
 * SMART App Launch 2.0 resource scopes: `context/Type.permissions`, where context is `patient`,
 * `user` or `system`, Type a resource type or `*`, and permissions a subset of `cruds` written in
 * that order (`patient/Observation.rs`, `user/*.cruds`). SMART 1.0's `read`, `write` and `*` are
 * accepted as the v2 permissions they stand for.
 */
import { FhirError } from '../errors.js';

export type ScopeContext = 'patient' | 'user' | 'system';

/** create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export interface SmartScope {
  readonly context: ScopeContext;
  /** A resource type name, or `*` for every type. */
  readonly resourceType: string;
  /** In `cruds` order, without repeats. */
  readonly permissions: readonly Permission[];
}

const PERMISSION_ORDER = 'cruds';

const V1_PERMISSIONS: Readonly<Record<string, readonly Permission[]>> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

const RESOURCE_SCOPE = /^(patient|user|system)\/([A-Z][A-Za-z]*|\*)\.([a-z]+|\*)$/;
const CONTEXT_PREFIX = /^(patient|user|system)\//;

/**
 * The scope's grant, or undefined for a scope that grants no resource access (`openid`,
 * `fhirUser`, `launch/patient`, `offline_access`, an IdP's own scopes) or one narrowed by query
 * parameters (`patient/Observation.rs?category=…`), which this server cannot enforce and so
 * treats as granting nothing. A `patient/`, `user/` or `system/` scope that does not follow the
 * grammar is malformed: 401, since the token that carries it cannot be trusted to mean anything.
 */
export function parseScope(text: string): SmartScope | undefined {
  if (!CONTEXT_PREFIX.test(text) || text.includes('?')) {
    return undefined;
  }
  const match = RESOURCE_SCOPE.exec(text);
  const permissions = match && permissionsOf(match[3]!);
  if (!match || !permissions) {
    throw FhirError.unauthorized(`Malformed SMART scope "${text}"`);
  }
  return { context: match[1] as ScopeContext, resourceType: match[2]!, permissions };
}

function permissionsOf(text: string): readonly Permission[] | undefined {
  const v1 = V1_PERMISSIONS[text];
  if (v1) {
    return v1;
  }
  // v2: letters of `cruds`, each at most once, in that order.
  let position = -1;
  for (const letter of text) {
    const next = PERMISSION_ORDER.indexOf(letter);
    if (next <= position) {
      return undefined;
    }
    position = next;
  }
  return [...text] as Permission[];
}

/** Every resource scope of a space-separated `scope` claim (or of an `scp` array's items). */
export function parseScopes(scopes: string | readonly string[]): SmartScope[] {
  const texts = typeof scopes === 'string' ? scopes.split(' ') : scopes;
  return texts.filter((text) => text !== '').flatMap((text) => parseScope(text) ?? []);
}

/** The v2 spelling, e.g. `patient/Observation.rs`. */
export function formatScope(scope: SmartScope): string {
  return `${scope.context}/${scope.resourceType}.${scope.permissions.join('')}`;
}
