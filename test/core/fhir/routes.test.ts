/**
 * The route table against the URL forms of R4 http.html (section 3.1.0.1.x, "Service Base URL"
 * and each interaction's form): every form maps to its interaction with its variables, and what
 * R4 does not define is 404 (no such interaction) or 405 (a known path, another method).
 */
import { describe, expect, it } from 'vitest';
import type { FhirError } from '../../../core/errors.js';
import { matchRoute } from '../../../core/fhir/routes.js';
import type { FhirMethod } from '../../../core/fhir/request.js';

describe('matchRoute', () => {
  it.each([
    // [method, path, interaction, params]
    ['GET', 'metadata', 'capabilities', {}],
    ['GET', 'Patient/123', 'read', { type: 'Patient', id: '123' }],
    ['GET', 'Patient/123/_history/4', 'vread', { type: 'Patient', id: '123', vid: '4' }],
    ['PUT', 'Patient/123', 'update', { type: 'Patient', id: '123' }],
    ['PUT', 'Patient', 'conditional-update', { type: 'Patient' }],
    ['PATCH', 'Patient/123', 'patch', { type: 'Patient', id: '123' }],
    ['PATCH', 'Patient', 'conditional-patch', { type: 'Patient' }],
    ['DELETE', 'Patient/123', 'delete', { type: 'Patient', id: '123' }],
    ['DELETE', 'Patient', 'conditional-delete', { type: 'Patient' }],
    ['POST', 'Patient', 'create', { type: 'Patient' }],
    ['GET', 'Patient', 'search-type', { type: 'Patient' }],
    ['POST', 'Patient/_search', 'search-type', { type: 'Patient' }],
    ['GET', '', 'search-system', {}],
    ['POST', '_search', 'search-system', {}],
    ['GET', 'Patient/123/Observation', 'search-compartment', { type: 'Patient', id: '123', compartmentType: 'Observation' }],
    ['POST', '', 'batch', {}],
    ['GET', 'Patient/123/_history', 'history-instance', { type: 'Patient', id: '123' }],
    ['GET', 'Patient/_history', 'history-type', { type: 'Patient' }],
    ['POST', 'Patient/$validate', 'validate', { type: 'Patient' }],
    ['POST', 'Patient/123/$validate', 'validate', { type: 'Patient', id: '123' }],
    ['POST', '$validate', 'validate', {}],
    ['GET', 'Patient/$everything', 'unknown-operation', { type: 'Patient', operation: '$everything' }],
    ['POST', 'Patient/123/$everything', 'unknown-operation', { type: 'Patient', id: '123', operation: '$everything' }],
    ['GET', 'Patient/123/$everything', 'unknown-operation', { type: 'Patient', id: '123', operation: '$everything' }],
    ['GET', '$meta', 'unknown-operation', { operation: '$meta' }],
    // Leading and trailing slashes and percent-encoding are the transport's, not the path's.
    ['GET', '/Patient/a%2Db/', 'read', { type: 'Patient', id: 'a-b' }],
  ] as const)('%s /%s → %s', (method, path, interaction, params) => {
    const match = matchRoute(method as FhirMethod, path);
    expect(match.route.interaction).toBe(interaction);
    expect({ ...match.params }).toEqual(params);
  });

  it.each([
    ['GET', 'Patient/123/_history/4/extra', 404],
    ['GET', '_history', 404],
    ['GET', 'Patient/_history/4', 404],
    ['DELETE', 'metadata', 405],
    ['PUT', 'Patient/_search', 405],
    ['DELETE', 'Patient/123/_history', 405],
    ['GET', 'Patient/%E0%A4%A', 400],
  ] as const)('%s /%s is %i', (method, path, status) => {
    let error: FhirError | undefined;
    try {
      matchRoute(method as FhirMethod, path);
    } catch (thrown) {
      error = thrown as FhirError;
    }
    expect(error?.status).toBe(status);
    expect(error?.outcome.resourceType).toBe('OperationOutcome');
  });
});
