import { AUTHORIZER, type FunctionSpec, ROUTES } from '../functions/routes';
import type { UserPool } from './auth';
import { type DeployedArns, permissionsOf } from './permissions';
import { searchEnvironment } from './search';
import { passThrough, type StageSettings } from './stage';

/**
 * The refusals API Gateway answers itself, before any function: the body is an OperationOutcome
 * as the functions' own errors are, and a 401 says how to authenticate. A path no route has is
 * MISSING_AUTHENTICATION_TOKEN to API Gateway, which answers 403 by default; it is a 404 here.
 */
const GATEWAY_RESPONSES = [
  { type: 'UNAUTHORIZED', status: '401', code: 'login', text: 'A valid bearer access token is required', headers: { 'WWW-Authenticate': "'Bearer'" } },
  { type: 'ACCESS_DENIED', status: '403', code: 'forbidden', text: 'The authorizer does not allow this request' },
  { type: 'MISSING_AUTHENTICATION_TOKEN', status: '404', code: 'not-found', text: 'No route for this method and path' },
  { type: 'THROTTLED', status: '429', code: 'throttled', text: 'Too many requests; retry later' },
  { type: 'DEFAULT_4XX', code: 'invalid', text: 'The request was refused by the API gateway' },
  { type: 'DEFAULT_5XX', code: 'exception', text: 'The API gateway could not complete the request' },
] as const;

/**
 * API Gateway REST routes, one per entry of the route table, each to its per-operation function
 * behind the Lambda TOKEN authorizer, except the public discovery routes. Functions are deployed
 * on Node 22 (@medplum/core 5 needs it) with the generated FHIR definitions copied beside the
 * handler (see core/r4/definitions.ts), and get only the IAM actions infra/policies.ts lists.
 */
export function createApi(
  table: sst.aws.Dynamo,
  search: sst.aws.OpenSearch,
  auth: UserPool,
  arns: DeployedArns,
  settings: StageSettings,
  /** What the functions' drivers need to find their parts (e.g. the analytics reports bucket). */
  driverEnvironment: Record<string, $util.Input<string>>,
) {
  const responses: $util.Resource[] = [];
  const api = new sst.aws.ApiGatewayV1('FhirApi', {
    accessLog: { retention: settings.logRetention },
    transform: {
      // Gateway responses take effect with a deployment: they exist before it.
      deployment: (_args, opts) => {
        opts.dependsOn = responses;
      },
    },
  });
  const region = aws.getRegionOutput({}).region;
  // The stage URL from the API's id, not from `api.url`, which waits for the deployment that
  // waits for these functions. Links and Location headers never trust the request's Host.
  const baseUrl = $interpolate`https://${api.nodes.api.id}.execute-api.${region}.amazonaws.com/${$app.stage}`;

  for (const response of GATEWAY_RESPONSES) {
    const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: response.code, diagnostics: response.text }] };
    responses.push(
      new aws.apigateway.Response(`FhirApiResponse${response.type}`, {
        restApiId: api.nodes.api.id,
        responseType: response.type,
        ...('status' in response && { statusCode: response.status }),
        responseTemplates: { 'application/json': JSON.stringify(outcome) },
        responseParameters: {
          'gatewayresponse.header.Content-Type': "'application/fhir+json'",
          ...Object.fromEntries(Object.entries('headers' in response ? response.headers : {}).map(([name, value]) => [`gatewayresponse.header.${name}`, value])),
        },
      }),
    );
  }

  const functionArgs = (spec: FunctionSpec, environment: Record<string, $util.Input<string>>) => ({
    handler: `functions/${spec.module}.handler`,
    runtime: 'nodejs22.x' as const,
    memory: `${spec.memoryMB} MB` as const,
    timeout: `${spec.timeoutSeconds} seconds` as const,
    environment,
    permissions: permissionsOf(spec.module, arns),
    logging: { retention: settings.logRetention },
    // A dynamic import() gets a file of its own, loaded when first reached: the `$export` queue's
    // and `$analytics`'s clients, and the SDK's credential providers other than the environment's,
    // stay out of every cold start (scripts/bench/bundles.ts builds the same way).
    nodejs: { splitting: true },
  });

  const authorizer = api.addAuthorizer({
    name: 'FhirTokenAuthorizer',
    tokenFunction: functionArgs(AUTHORIZER, {
      FHIR_COGNITO_USER_POOL_ID: auth.pool.id,
      // The stack's clients, and the backend clients an operator gave a tenant.
      FHIR_COGNITO_CLIENT_IDS: $interpolate`${auth.userLogin.id},${auth.backendService.id}${Object.keys(settings.clientTenants).map((id) => `,${id}`).join('')}`,
      ...passThrough(process.env, ['FHIR_OIDC_ISSUERS', 'FHIR_TENANT_CLAIM']),
    }),
    ttl: AUTHORIZER.cacheSeconds,
    identitySource: 'method.request.header.Authorization',
    transform: {
      // Anything but a bearer token is refused (401) without invoking the function.
      authorizer: { identityValidationExpression: '^Bearer [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$' },
    },
  });

  const environment = {
    FHIR_TABLE_NAME: table.name,
    FHIR_BASE_URL: baseUrl,
    ...searchEnvironment(search),
    ...auth.oauthEnvironment,
    ...driverEnvironment,
    ...passThrough(process.env, ['FHIR_TENANT_CLAIM']),
  };
  for (const route of ROUTES) {
    api.route(
      `${route.method} ${route.path}`,
      { ...functionArgs(route.function, environment), copyFiles: [{ from: '.build/fhir-definitions', to: 'fhir-definitions' }] },
      route.public ? {} : { auth: { custom: authorizer.id } },
    );
  }
  api.deploy();

  new aws.apigateway.MethodSettings('FhirApiThrottle', {
    restApi: api.nodes.api.id,
    stageName: api.nodes.stage!.stageName,
    methodPath: '*/*',
    settings: { throttlingRateLimit: settings.throttle.rate, throttlingBurstLimit: settings.throttle.burst, metricsEnabled: true },
  });
  return { api, baseUrl };
}
