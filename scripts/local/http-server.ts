/**
 * The local API: a node:http server that routes with the same table as API Gateway
 * (`functions/routes.ts`) and hands the very same handlers a REST API (v1) Lambda proxy event.
 * It reproduces what a handler can observe of API Gateway: resource matching, decoded path and
 * query parameters, multi-value headers and query parameters, base64 bodies, the 10 MB payload
 * limit, the default response content type, and the Lambda TOKEN authorizer in front of every
 * non-public route, whose context reaches the handler in `requestContext.authorizer` and whose
 * answer is kept for a token as API Gateway keeps it (`AUTHORIZER.cacheSeconds`). Whatever it
 * refuses itself (401, 403, 404, 405, 413, 431) gets an OperationOutcome body, as the deployed
 * gateway responses give. The handlers log each request they serve; this server logs only the
 * requests it answers itself, and handler failures.
 */
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { FhirError } from '../../core/errors.js';
import { AUTHORIZER, type FunctionSpec, ROUTES, type Route } from '../../functions/routes.js';
import { JWKS_PATH, type LocalAuth, type TokenAuthorizer } from './local-issuer.js';

export type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** Resolves a route's `module` to its handler. */
export type HandlerLoader = (module: string) => Promise<LambdaHandler>;

export interface LocalApiOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Defaults to importing `functions/<module>.ts`; tests pass fake handlers. */
  readonly loadHandler?: HandlerLoader;
  /** JWT mode; absent: no authorizer (local-dev mode, where handlers read `X-Tenant-ID`). */
  readonly auth?: LocalAuth;
}

export interface LocalApi {
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** API Gateway's REST API payload quota. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Request line and headers together; API Gateway's own limit is 10 KB of headers. */
const MAX_HEADER_BYTES = 16 * 1024;

const LOCAL_ACCOUNT_ID = '000000000000';
const FUNCTIONS_DIR = new URL('../../functions/', import.meta.url);
// Bodies of these types (or without a type) reach the handler as UTF-8 text; any other type
// arrives base64-encoded.
const TEXT_CONTENT_TYPE = /^\s*(text\/|application\/([\w.-]+\+)?(json|xml)\b|application\/x-www-form-urlencoded)/i;

export async function startLocalApi(options: LocalApiOptions = {}): Promise<LocalApi> {
  const host = options.host ?? '127.0.0.1';
  const invoker: Invoker = {
    resources: resourcesOf(ROUTES),
    loadHandler: options.loadHandler ?? importHandler,
    logger: new Logger({ serviceName: 'fhir-local-api' }),
    auth: options.auth,
    authorized: new Map(),
  };
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => void serve(req, res, invoker));
  server.on('clientError', answerClientError);
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => closeServer(server),
  };
}

/** Dynamic import is lazy (first request) and cached by the module loader. */
export async function importHandler(module: string): Promise<LambdaHandler> {
  const loaded = await import(new URL(`${module}.ts`, FUNCTIONS_DIR).href);
  if (typeof loaded.handler !== 'function') {
    throw new Error(`functions/${module}.ts does not export a handler function`);
  }
  return loaded.handler as LambdaHandler;
}

/**
 * A request Node could not parse (an over-long URL or header block, a malformed request line)
 * never reaches `serve`; it still gets an OperationOutcome, where Node would send an empty body.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const refusal = tooLarge
    ? FhirError.of(431, 'too-long', `The request line and headers exceed ${MAX_HEADER_BYTES} bytes`)
    : FhirError.badRequest('Malformed HTTP request');
  const body = JSON.stringify(refusal.outcome);
  const reason = tooLarge ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(`HTTP/1.1 ${refusal.status} ${reason}\r\nContent-Type: application/fhir+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

async function closeServer(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeIdleConnections();
  await closed;
}

// ---- routing -------------------------------------------------------------------------------

type Segment = { readonly static: string } | { readonly variable: string };

/** An API Gateway resource: one path and the methods defined on it. */
interface Resource {
  readonly path: string;
  /** API Gateway's id of the resource, as events carry it. */
  readonly id: string;
  readonly segments: readonly Segment[];
  readonly methods: ReadonlyMap<string, Route>;
}

interface Match {
  readonly resource: Resource;
  readonly pathParameters: Record<string, string>;
}

/** Groups routes by path, most specific first, so that the first match is the one to use. */
function resourcesOf(routes: readonly Route[]): Resource[] {
  const byPath = new Map<string, Map<string, Route>>();
  for (const route of routes) {
    const methods = byPath.get(route.path) ?? new Map<string, Route>();
    methods.set(route.method, route);
    byPath.set(route.path, methods);
  }
  return [...byPath]
    .map(([path, methods]) => ({ path, id: createHash('sha1').update(path).digest('hex').slice(0, 6), segments: splitPath(path).map(parseSegment), methods }))
    .sort((a, b) => compareSpecificity(a.segments, b.segments));
}

function splitPath(path: string): string[] {
  // API Gateway ignores one trailing slash: `/Patient/` is `/Patient`.
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/').slice(1);
}

function parseSegment(segment: string): Segment {
  const variable = /^\{(\w+)\}$/.exec(segment);
  return variable ? { variable: variable[1]! } : { static: segment };
}

/** Static segments win over `{variables}`, compared from the left, as API Gateway does. */
function compareSpecificity(a: readonly Segment[], b: readonly Segment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const difference = Number('variable' in a[i]!) - Number('variable' in b[i]!);
    if (difference !== 0) {
      return difference;
    }
  }
  return a.length - b.length;
}

function matchResource(resources: readonly Resource[], path: string): Match | undefined {
  const segments = splitPath(path).map(decodeSegment);
  for (const resource of resources) {
    const pathParameters = matchSegments(resource.segments, segments);
    if (pathParameters) {
      return { resource, pathParameters };
    }
  }
  return undefined;
}

function matchSegments(pattern: readonly Segment[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) {
    return undefined;
  }
  const parameters: Record<string, string> = {};
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i]!;
    if ('static' in part ? part.static !== segment : segment === '') {
      return undefined;
    }
    if ('variable' in part) {
      parameters[part.variable] = segment;
    }
  }
  return parameters;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw FhirError.badRequest(`Malformed percent-encoding in path segment "${segment}"`);
  }
}

// ---- one request ---------------------------------------------------------------------------

interface Invoker {
  readonly resources: readonly Resource[];
  readonly loadHandler: HandlerLoader;
  readonly logger: Logger;
  readonly auth: LocalAuth | undefined;
  /** The authorizer's answers by token, oldest first, each until it expires (API Gateway's authorizer cache). */
  readonly authorized: Map<string, CachedAuthorization>;
}

async function serve(req: IncomingMessage, res: ServerResponse, invoker: Invoker): Promise<void> {
  const started = performance.now();
  const requestId = randomUUID();
  const url = new URL(req.url ?? '/', 'http://local');
  let answer: Answer;
  try {
    answer = await respond(req, url, requestId, invoker);
  } catch (error) {
    answer = { result: errorResult(error, invoker.logger), handled: false };
  }
  let { result } = answer;
  try {
    writeResult(res, result, requestId);
  } catch (error) {
    // An invalid header name or value from a handler: API Gateway answers 502 as well.
    result = errorResult(error, invoker.logger);
    answer = { result, handled: false };
    for (const name of res.getHeaderNames()) {
      res.removeHeader(name);
    }
    writeResult(res, result, requestId);
  }
  if (!answer.handled) {
    invoker.logger.info('request', {
      method: req.method,
      path: url.pathname,
      status: result.statusCode,
      durationMs: Math.round(performance.now() - started),
      requestId,
    });
  }
}

/** `handled`: a handler answered, and logged the request itself. */
interface Answer {
  readonly result: APIGatewayProxyResult;
  readonly handled: boolean;
}

async function respond(req: IncomingMessage, url: URL, requestId: string, invoker: Invoker): Promise<Answer> {
  if (invoker.auth && req.method === 'GET' && url.pathname === JWKS_PATH) {
    return { result: { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(invoker.auth.jwks) }, handled: false };
  }
  const match = matchResource(invoker.resources, url.pathname);
  if (!match) {
    return { result: outcomeResult(FhirError.notFound(`No route for ${url.pathname}`)), handled: false };
  }
  const route = match.resource.methods.get(req.method ?? '');
  if (!route) {
    const allowed = [...match.resource.methods.keys()].join(', ');
    return { result: outcomeResult(FhirError.methodNotAllowed(`${req.method} is not allowed on ${match.resource.path}; allowed: ${allowed}`), { Allow: allowed }), handled: false };
  }
  const authorizer = invoker.auth && !route.public ? await authorize(req, route, invoker.auth.authorizer, invoker.authorized) : null;
  const body = await readBody(req);
  const event = proxyEvent(req, url, match.resource, route, match.pathParameters, body, requestId, authorizer);
  const handler = await invoker.loadHandler(route.function.module);
  const result = await handler(event, lambdaContext(route.function));
  if (typeof result?.statusCode !== 'number') {
    throw new Error(`functions/${route.function.module}.ts returned a malformed Lambda proxy response`);
  }
  return { result, handled: true };
}

/** The 401 API Gateway answers (through the gateway response in infra/api.ts) for a missing or refused token. */
const UNAUTHORIZED = FhirError.unauthorized('A valid bearer access token is required');
const WWW_AUTHENTICATE = { 'WWW-Authenticate': 'Bearer' };

/** An answer of the authorizer, kept for its token until `expires` (ms since the epoch). */
interface CachedAuthorization {
  readonly result: APIGatewayAuthorizerResult;
  readonly integrationLatency: number;
  readonly expires: number;
}

/** Tokens whose answers are kept at once; past it the oldest answer goes first. */
const AUTHORIZER_CACHE_ENTRIES = 10_000;

/**
 * What API Gateway does for a TOKEN authorizer: no `Authorization` header is 401 without calling
 * it; the authorizer's `Unauthorized` is 401; a policy that does not allow this method is 403;
 * any other failure is 500. An allowed call's context, `principalId` added, goes to the handler.
 * A policy the authorizer returned is kept for its token `AUTHORIZER.cacheSeconds` and applies
 * to every route meanwhile, as API Gateway's authorizer cache does (a refusal is not kept).
 */
async function authorize(req: IncomingMessage, route: Route, authorizer: TokenAuthorizer, cache: Map<string, CachedAuthorization>): Promise<APIGatewayProxyEvent['requestContext']['authorizer']> {
  const token = req.headers.authorization;
  if (!token) {
    throw new GatewayRefusal(UNAUTHORIZED, WWW_AUTHENTICATE);
  }
  const now = Date.now();
  let answer = cache.get(token);
  if (!answer || answer.expires <= now) {
    answer = await invokeAuthorizer(route, token, authorizer);
    cache.delete(token);
    cache.set(token, answer);
    for (const [kept, { expires }] of cache) {
      if (cache.size <= AUTHORIZER_CACHE_ENTRIES && expires > now) {
        break;
      }
      cache.delete(kept);
    }
  }
  const { result, integrationLatency } = answer;
  const allowed = result.policyDocument.Statement.some((statement) => statement.Effect === 'Allow' && 'Action' in statement && [statement.Action].flat().includes('execute-api:Invoke'));
  const denied = result.policyDocument.Statement.some((statement) => statement.Effect === 'Deny');
  if (!allowed || denied) {
    throw new GatewayRefusal(FhirError.forbidden('The authorizer does not allow this request'));
  }
  return { ...result.context, principalId: result.principalId, integrationLatency };
}

async function invokeAuthorizer(route: Route, token: string, authorizer: TokenAuthorizer): Promise<CachedAuthorization> {
  const started = performance.now();
  const methodArn = `arn:aws:execute-api:${process.env.AWS_REGION ?? 'us-east-1'}:${LOCAL_ACCOUNT_ID}:local/local/${route.method}${route.path}`;
  try {
    const result = await authorizer({ type: 'TOKEN', authorizationToken: token, methodArn }, lambdaContext(AUTHORIZER));
    return { result, integrationLatency: Math.round(performance.now() - started), expires: Date.now() + AUTHORIZER.cacheSeconds * 1000 };
  } catch (error) {
    if ((error as Error)?.message === 'Unauthorized') {
      throw new GatewayRefusal(UNAUTHORIZED, WWW_AUTHENTICATE);
    }
    throw error;
  }
}

/** A refusal of the gateway itself, before any handler runs. */
class GatewayRefusal extends Error {
  constructor(
    readonly error: FhirError,
    readonly headers: Record<string, string> = {},
  ) {
    super(error.message);
  }
}

/** Reads the whole body; past the limit it keeps draining so the client still sees the 413. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) {
      chunks.push(chunk);
    }
  }
  if (size > MAX_BODY_BYTES) {
    throw FhirError.payloadTooLarge(`Request body of ${size} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`);
  }
  return Buffer.concat(chunks);
}

function outcomeResult(error: FhirError, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: error.status,
    headers: { 'Content-Type': 'application/fhir+json', ...headers },
    body: JSON.stringify(error.outcome),
  };
}

/** A handler that throws or answers nonsense is a Lambda failure, which API Gateway turns into 502. */
function errorResult(error: unknown, logger: Logger): APIGatewayProxyResult {
  if (error instanceof GatewayRefusal) {
    return outcomeResult(error.error, error.headers);
  }
  if (error instanceof FhirError) {
    return outcomeResult(error);
  }
  logger.error('handler failed', error as Error);
  return outcomeResult(FhirError.of(502, 'exception', 'The Lambda handler failed; see the local server log'));
}

// ---- API Gateway event and Lambda context --------------------------------------------------

function proxyEvent(
  req: IncomingMessage,
  url: URL,
  resource: Resource,
  route: Route,
  pathParameters: Record<string, string>,
  body: Buffer,
  requestId: string,
  authorizer: APIGatewayProxyEvent['requestContext']['authorizer'],
): APIGatewayProxyEvent {
  const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
  const now = new Date();
  const textBody = body.length === 0 || TEXT_CONTENT_TYPE.test(req.headers['content-type'] ?? 'text/plain');
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: route.method,
    ...requestHeaders(req, sourceIp),
    ...queryParameters(url.searchParams),
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body.length === 0 ? null : body.toString(textBody ? 'utf8' : 'base64'),
    isBase64Encoded: !textBody,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      authorizer,
      domainName: req.headers.host,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: route.method,
      identity: identity(sourceIp, req.headers['user-agent']),
      // Deployed, this is `/{stage}{path}`; the local server has no stage prefix in its URLs.
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTime: apiGatewayTime(now),
      requestTimeEpoch: now.getTime(),
      resourceId: resource.id,
      resourcePath: route.path,
    },
  };
}

/**
 * Header names keep the client's spelling; `headers` holds the last value of each, as API Gateway
 * does. The X-Forwarded-* headers are the ones API Gateway adds.
 */
function requestHeaders(req: IncomingMessage, sourceIp: string): Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'> {
  const forwarded: [string, string][] = [
    ['X-Forwarded-For', sourceIp],
    ['X-Forwarded-Proto', 'http'],
    ['X-Forwarded-Port', String(req.socket.localPort)],
  ];
  const raw: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    raw.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  }
  const missing = forwarded.filter(([name]) => req.headers[name.toLowerCase()] === undefined);
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of [...raw, ...missing]) {
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  return { headers, multiValueHeaders };
}

/** Decoded values; `null` rather than `{}` when there are none, as API Gateway sends. */
function queryParameters(search: URLSearchParams): Pick<APIGatewayProxyEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'> {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of search) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  const empty = Object.keys(multi).length === 0;
  return { queryStringParameters: empty ? null : single, multiValueQueryStringParameters: empty ? null : multi };
}

function identity(sourceIp: string, userAgent: string | undefined): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent: userAgent ?? null,
    userArn: null,
  };
}

/** API Gateway's `requestTime` format: `21/Nov/2025:21:24:00 +0000`. */
function apiGatewayTime(date: Date): string {
  const [, day, month, year, time] = date.toUTCString().split(' ');
  return `${day}/${month}/${year}:${time} +0000`;
}

/** The Lambda context a function gets when invoked locally (API routes, the stream poller). */
export function lambdaContext(spec: FunctionSpec): Context {
  const deadline = Date.now() + spec.timeoutSeconds * 1000;
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const unsupported = () => {
    throw new Error('context.done/fail/succeed are not supported: return a promise from the handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: spec.module,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${spec.module}`,
    memoryLimitInMB: String(spec.memoryMB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${spec.module}`,
    logStreamName: `local/[$LATEST]${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

// ---- response ------------------------------------------------------------------------------

/** `headers` and `multiValueHeaders` are merged, and JSON is the default type, as in API Gateway. */
function writeResult(res: ServerResponse, result: APIGatewayProxyResult, requestId: string): void {
  res.statusCode = result.statusCode;
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    res.appendHeader(name, String(value));
  }
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    res.appendHeader(name, values.map(String));
  }
  if (!res.hasHeader('content-type')) {
    res.setHeader('Content-Type', 'application/json');
  }
  res.setHeader('x-amzn-RequestId', requestId);
  res.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
}
