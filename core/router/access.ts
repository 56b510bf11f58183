/**
 * SMART scopes applied to the route table: what each interaction needs (create, read, update,
 * delete or search on which types), checked by the router for every request and every Bundle
 * entry alike, and the patient compartment a `patient/` scope confines it to. The policy itself
 * (which scope grants what) is core/auth/policy.ts.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Identity } from '../auth/identity.js';
import { type Access, authorize, patientCompartmentOf } from '../auth/policy.js';
import { FhirError } from '../errors.js';
import type { FhirRequest } from '../fhir/request.js';
import type { RouteMatch } from '../fhir/routes.js';
import type { SearchCriterion, SearchQuery } from '../search/types.js';

/** What the interaction of `match` does to which types. */
export function accessesOf(request: FhirRequest, { route, params }: RouteMatch): Access[] {
  const type = params.type ?? '*';
  switch (route.interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
      return [{ kind: 'read', resourceType: type }];
    case 'history-type':
    case 'search-type':
      return [{ kind: 'search', resourceType: type }];
    case 'search-compartment':
      return [{ kind: 'search', resourceType: params.compartmentType ?? '*' }];
    case 'search-system':
      return systemSearchTypes(request).map((resourceType) => ({ kind: 'search', resourceType }));
    case 'create':
      return [{ kind: 'create', resourceType: type }, ...(request.ifNoneExist === undefined ? [] : [{ kind: 'search' as const, resourceType: type }])];
    case 'update':
    case 'patch':
      return [{ kind: 'update', resourceType: type }];
    case 'conditional-update':
    case 'conditional-patch':
      return [{ kind: 'update', resourceType: type }, { kind: 'search', resourceType: type }];
    case 'delete':
      return [{ kind: 'delete', resourceType: type }];
    case 'conditional-delete':
      return [{ kind: 'delete', resourceType: type }, { kind: 'search', resourceType: type }];
    case 'validate':
      return params.type === undefined ? [] : [{ kind: params.id === undefined ? 'create' : 'update', resourceType: params.type }];
    case 'capabilities':
    case 'batch':
    case 'unknown-operation':
      return [];
    // Bulk export: its types are known once the kick-off is parsed (a POST names them in its body): `authorizeExport`.
    // Status and cancel: only the job's own client reaches it (core/export/exports.ts).
    case 'export-system':
    case 'export-patient':
    case 'export-group':
    case 'export-status':
    case 'export-cancel':
      return [];
    // A tenant's report counts every resource: read on all types, and no patient/ confinement (`authorizeAnalytics`).
    case 'analytics-run':
    case 'analytics-report':
      return [{ kind: 'read', resourceType: '*' }];
  }
}

/**
 * `$analytics` reports on every patient of the tenant, so a `patient/` scope, which confines to
 * one patient's compartment, never suffices: `user/*.r` or `system/*.r` (v1: `*.read`) does.
 */
export function authorizeAnalytics(confinedTo: string | undefined): void {
  if (confinedTo !== undefined) {
    throw FhirError.forbidden('$analytics reports on every patient of the tenant: it needs user/*.r or system/*.r, not patient/ scopes');
  }
}

/** `_type` of a system search, or every type (`*`) without it. */
function systemSearchTypes(request: FhirRequest): string[] {
  const named = (request.query._type ?? []).flatMap((value) => value.split(',')).map((type) => type.trim()).filter(Boolean);
  return named.length > 0 ? [...new Set(named)] : ['*'];
}

/**
 * Checks every access (403 naming the missing scope) and returns the patient the request is
 * confined to: the launch patient when some access is granted by `patient/` scopes alone.
 */
export function authorizeAll(identity: Identity, accesses: readonly Access[]): string | undefined {
  let confinedTo: string | undefined;
  for (const access of accesses) {
    authorize(identity, access);
    confinedTo ??= patientCompartmentOf(identity, access);
  }
  return confinedTo;
}

/**
 * Bulk export is for backend services: every type exported needs read and search from a
 * `system/` scope (`system/*.rs`, or `system/Type.rs` for each type named in `_type`); `patient/`
 * and `user/` scopes never start one.
 */
export function authorizeExport(identity: Identity, resourceTypes: readonly string[]): void {
  const system: Identity = { ...identity, scopes: identity.scopes.filter((scope) => scope.context === 'system') };
  for (const resourceType of resourceTypes) {
    for (const kind of ['read', 'search'] as const) {
      try {
        authorize(system, { kind, resourceType });
      } catch (error) {
        if (error instanceof FhirError) {
          throw FhirError.forbidden(`$export of ${resourceType} needs system/${resourceType}.rs or system/*.rs: only system scopes may export, patient/ and user/ scopes may not`);
        }
        throw error;
      }
    }
  }
}

/** Whether the identity may read resources of `resourceType` (an `_include`d or `_revinclude`d resource). */
export function mayRead(identity: Identity, resourceType: string): boolean {
  try {
    authorize(identity, { kind: 'read', resourceType });
    return true;
  } catch (error) {
    if (error instanceof FhirError) {
      return false;
    }
    throw error;
  }
}

/**
 * A search's chains and `_has` look into other types: each needs search on that type, or the
 * answer would tell what those resources hold.
 */
export function authorizeLinkedTypes(identity: Identity, query: SearchQuery): void {
  const visit = (criterion: SearchCriterion): void => {
    if ('anyOf' in criterion) {
      criterion.anyOf.forEach(visit);
    } else if ('inner' in criterion) {
      authorize(identity, { kind: 'search', resourceType: criterion.resourceType });
      visit(criterion.inner);
    } else {
      for (const link of criterion.chain) {
        authorize(identity, { kind: 'search', resourceType: link.targetType });
      }
    }
  };
  query.criteria.forEach(visit);
}

/** `included` without what the identity may not read or what lies outside its confinement. */
export function visibleIncludes(identity: Identity, included: readonly Resource[], within: (resource: Resource) => boolean): Resource[] {
  return included.filter((resource) => mayRead(identity, resource.resourceType) && within(resource));
}
