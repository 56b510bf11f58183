/**
 * The CapabilityStatement served at GET /metadata. It lists what works, and nothing else:
 * when a capability lands, it is added here together with its tests.
 */
import type { CapabilityStatement, CapabilityStatementRestResource, ResourceType } from '@medplum/fhirtypes';
import { restSecurity } from '../auth/smart-configuration.js';
import { loadAuthConfig, type OAuthEndpoints } from '../config.js';
import { searchParameters } from '../r4/search-parameters.js';
import type { SearchParameterType } from '../r4/search-types.js';
import { resourceTypes } from '../r4/definitions.js';

export const SOFTWARE = { name: 'fhir-serverless', version: '0.1.0' };

const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;

/** What search supports beyond parameters, for readers of the statement. */
const SEARCH_DOCUMENTATION =
  'Search: every R4 search parameter of each type (string, token, reference, date, number, quantity, uri, composite); ' +
  'modifiers :exact :contains :missing :not :text :of-type :identifier :[type], and :above :below on uri parameters (not on tokens: no terminology service); ' +
  'prefixes eq ne gt lt ge le sa eb ap; ' +
  'chains and _has; _include/_revinclude (:iterate, *); _sort on any parameter; _count with next/previous links; _total; _summary; _elements; ' +
  'Patient compartment search; system search with _type; POST _search. The DynamoDB engine refuses (400 too-costly) a query that would read more ' +
  'resources of one type than its scan limit.';

const BUNDLE_DOCUMENTATION =
  'Bundles: batch and transaction at POST /; transactions are atomic and resolve urn:uuid/urn:oid fullUrls ' +
  'and conditional references (Type?criteria, also matching resources created in the same transaction). Conditional create (If-None-Exist), ' +
  'conditional update and conditional delete (single match; several are 412) take search criteria, always under strict handling.';

const OPERATIONS_DOCUMENTATION =
  'Operations: $validate (type and instance level, and at the base with a Parameters naming the resource); ' +
  'Bulk Data $export (v2, Prefer: respond-async) at the base, Patient and Group level, system/ scopes only; ' +
  '$analytics (POST starts a per-tenant report, GET returns the latest, _format=html renders it).';

function searchParametersOf(type: string): { name: string; type: Exclude<SearchParameterType, 'special'> }[] {
  return [...searchParameters(type).values()].flatMap((param) => (param.type === 'special' ? [] : [{ name: param.code, type: param.type }]));
}

function resourceCapability(type: string): CapabilityStatementRestResource {
  return {
    type: type as ResourceType,
    interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalRead: 'not-supported',
    conditionalUpdate: true,
    conditionalDelete: 'single',
    searchInclude: ['*', ...searchParametersOf(type).filter((param) => param.type === 'reference').map((param) => `${type}:${param.name}`)],
    searchRevInclude: ['*'],
    searchParam: searchParametersOf(type),
    operation: [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }, ...(TYPE_EXPORTS[type] ?? [])],
  };
}

/** Bulk Data Access IG v2 (core/export/): system, Patient and Group level. */
const BULK_DATA = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition';
const TYPE_EXPORTS: Readonly<Record<string, { name: string; definition: string }[]>> = {
  Patient: [{ name: 'export', definition: `${BULK_DATA}/patient-export` }],
  Group: [{ name: 'export', definition: `${BULK_DATA}/group-export` }],
};

export function capabilityStatement(baseUrl: string, oauth: OAuthEndpoints | undefined = loadAuthConfig().oauth): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-21',
    publisher: 'fhir-serverless',
    kind: 'instance',
    software: SOFTWARE,
    implementation: { description: 'Serverless FHIR R4 server on AWS Lambda and DynamoDB', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        documentation: `Every write is validated against the R4 StructureDefinitions and required bindings. ${SEARCH_DOCUMENTATION} ${BUNDLE_DOCUMENTATION} ${OPERATIONS_DOCUMENTATION}`,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
        searchParam: [{ name: '_type', type: 'token' }],
        operation: [
          { name: 'export', definition: `${BULK_DATA}/export` },
          { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' },
        ],
        security: restSecurity(oauth),
        resource: resourceTypes().map(resourceCapability),
      },
    ],
  };
}
