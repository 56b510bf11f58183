/**
 * The access policy: which SMART scopes allow an interaction on a resource type, and whether the
 * grant confines it to the launch patient's compartment. The request router calls it for every
 * interaction it runs, whether it came over HTTP or inside a Bundle.
 */
import { FhirError } from '../errors.js';
import type { Identity } from './identity.js';
import type { Permission, ScopeContext, SmartScope } from './scopes.js';

export type AccessKind = 'create' | 'read' | 'update' | 'delete' | 'search';

export interface Access {
  readonly kind: AccessKind;
  readonly resourceType: string;
}

const PERMISSION: Readonly<Record<AccessKind, Permission>> = { create: 'c', read: 'r', update: 'u', delete: 'd', search: 's' };

const CONTEXTS: readonly ScopeContext[] = ['user', 'patient', 'system'];

function grants(scope: SmartScope, access: Access): boolean {
  return (scope.resourceType === '*' || scope.resourceType === access.resourceType) && scope.permissions.includes(PERMISSION[access.kind]);
}

/**
 * Returns if one of the identity's scopes allows the access, else throws a 403 naming the scopes
 * that would. A `patient/` scope counts only when the token names a launch patient.
 */
export function authorize(identity: Identity, access: Access): void {
  const granting = identity.scopes.filter((scope) => grants(scope, access));
  if (granting.some((scope) => scope.context !== 'patient' || identity.patient !== undefined)) {
    return;
  }
  const needed = CONTEXTS.map((context) => `${context}/${access.resourceType}.${PERMISSION[access.kind]}`);
  const why = granting.length > 0 ? '; the token\'s patient/ scopes need a "patient" launch context, which it lacks' : '';
  throw FhirError.forbidden(`${access.kind} of ${access.resourceType} needs ${needed.slice(0, -1).join(', ')} or ${needed.at(-1)}${why}`);
}

/**
 * The patient whose compartment confines an authorized access: the launch patient when only
 * `patient/` scopes grant it, undefined when a `user/` or `system/` scope does. The router adds
 * the compartment to searches and refuses (403) or leaves out what lies outside it.
 */
export function patientCompartmentOf(identity: Identity, access: Access): string | undefined {
  return identity.scopes.some((scope) => scope.context !== 'patient' && grants(scope, access)) ? undefined : identity.patient;
}
