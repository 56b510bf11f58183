import { ROUTES } from '../functions/routes';

/**
 * API Gateway REST routes, one per entry of the route table, each to its per-operation
 * function. Functions are deployed on Node 22 (@medplum/core 5 needs it) with the generated
 * FHIR definitions copied beside the handler (see core/fhir/definitions.ts).
 */
export function createApi(table: sst.aws.Dynamo) {
  const api = new sst.aws.ApiGatewayV1('FhirApi');
  for (const route of ROUTES) {
    const spec = route.function;
    api.route(`${route.method} ${route.path}`, {
      handler: `functions/${spec.module}.handler`,
      runtime: 'nodejs22.x',
      memory: `${spec.memoryMB} MB`,
      timeout: `${spec.timeoutSeconds} seconds`,
      link: [table],
      environment: { FHIR_TABLE_NAME: table.name },
      copyFiles: [{ from: '.build/fhir-definitions', to: 'fhir-definitions' }],
    });
  }
  api.deploy();
  return api;
}
