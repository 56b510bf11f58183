/**
 * The CapabilityStatement served at GET /metadata. It lists what works, and nothing else:
 * when a capability lands (search parameters, conditional operations, batch/transaction),
 * it is added here together with its tests.
 */
import type { CapabilityStatement, CapabilityStatementRestResource, ResourceType } from '@medplum/fhirtypes';
import { resourceTypes } from './definitions.js';

export const SOFTWARE = { name: 'fhir-serverless', version: '0.1.0' };

const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;

function resourceCapability(type: string): CapabilityStatementRestResource {
  return {
    type: type as ResourceType,
    interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: false,
    conditionalRead: 'not-supported',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchParam: [],
    operation: [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }],
  };
}

export function capabilityStatement(baseUrl: string): CapabilityStatement {
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
        documentation:
          'Every write is validated against the R4 StructureDefinitions and required bindings. ' +
          'Search on a type lists its live resources, most recently updated first, paged with _count; ' +
          'other search parameters are not supported yet (reported, or 400 with Prefer: handling=strict).',
        security: { description: 'Tenant from the verified token claims; every resource is visible to its own tenant only.' },
        resource: resourceTypes().map(resourceCapability),
      },
    ],
  };
}
