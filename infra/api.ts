import { ROUTES } from '../functions/routes';
import { searchAccess, searchEnvironment } from './search';

/**
 * API Gateway REST routes, one per entry of the route table, each to its per-operation
 * function. Functions are deployed on Node 22 (@medplum/core 5 needs it) with the generated
 * FHIR definitions copied beside the handler (see core/r4/definitions.ts).
 *
 * They read and write the table and query OpenSearch; change events and AuditEvents of writes
 * come from the stream processor, and read audits go to the table, so no topic is linked here.
 */
export function createApi(table: sst.aws.Dynamo, search: sst.aws.OpenSearch) {
  const api = new sst.aws.ApiGatewayV1('FhirApi');
  for (const route of ROUTES) {
    const spec = route.function;
    api.route(`${route.method} ${route.path}`, {
      handler: `functions/${spec.module}.handler`,
      runtime: 'nodejs22.x',
      memory: `${spec.memoryMB} MB`,
      timeout: `${spec.timeoutSeconds} seconds`,
      link: [table, search],
      environment: { FHIR_TABLE_NAME: table.name, ...searchEnvironment(search) },
      // Queries only: GET/HEAD, and POST for `_search` with a body (IAM cannot tell a POST
      // `_search` from a POST `_bulk` on the same path pattern; the index is rebuilt from the table).
      permissions: [searchAccess(search, ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost'])],
      copyFiles: [{ from: '.build/fhir-definitions', to: 'fhir-definitions' }],
    });
  }
  api.deploy();
  return api;
}
