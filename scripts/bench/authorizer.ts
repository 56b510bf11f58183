/**
 * The authorizer's costs: its cold import (the bundle as SST deploys it, in fresh Node processes),
 * one warm verification with the JWKS cached (signature, claims, identity, policy: the whole
 * handler), and the scope check the router adds to each request.
 *
 *   npx tsx scripts/bench/authorizer.ts [--cold-runs 20] [--warm-runs 2000]
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { identityFromClaims } from '../../core/auth/identity.js';
import { authorize, patientCompartmentOf } from '../../core/auth/policy.js';
import { handler } from '../../functions/authorizer.js';
import { issueToken, JWKS_PATH, localIssuerConfig, signingKey } from '../local/local-issuer.js';
import { summarize } from './stats.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, '.build', 'bench', 'authorizer', 'index.mjs');
const TENANT_CLAIM = 'custom:tenant_id';

const { values } = parseArgs({ options: { 'cold-runs': { type: 'string', default: '20' }, 'warm-runs': { type: 'string', default: '2000' } } });
const coldRuns = Number(values['cold-runs']);
const warmRuns = Number(values['warm-runs']);

// The deployed shape of the code: one minified ESM bundle (what SST builds), imported by plain Node.
await build({ entryPoints: [join(ROOT, 'functions/authorizer.ts')], outfile: BUNDLE, bundle: true, minify: true, platform: 'node', target: 'node22', format: 'esm', mainFields: ['module', 'main'], logLevel: 'warning' });
const measureImport = `const started = performance.now(); await import(${JSON.stringify(pathToFileURL(BUNDLE).href)}); console.log(performance.now() - started);`;
const coldImportMs = Array.from({ length: coldRuns }, () => Number(execFileSync(process.execPath, ['--input-type=module', '-e', measureImport], { encoding: 'utf8' }).trim()));

const key = signingKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(key.jwks)));
jwksServer.listen(0, '127.0.0.1');
await once(jwksServer, 'listening');
process.env.FHIR_OIDC_ISSUERS = JSON.stringify([localIssuerConfig(`http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}${JWKS_PATH}`)]);
process.env.FHIR_TENANT_CLAIM = TENANT_CLAIM;

const token = issueToken(key, { tenant: 'bench', scope: 'openid patient/*.rs user/Practitioner.rs', tenantClaim: TENANT_CLAIM, patient: 'p1' });
const event = { type: 'TOKEN' as const, authorizationToken: `Bearer ${token}`, methodArn: 'arn:aws:execute-api:eu-west-1:1:api/prod/GET/Observation' };
await handler(event); // fetches and caches the JWKS
const warmMs: number[] = [];
for (let i = 0; i < warmRuns; i++) {
  const started = performance.now();
  await handler(event);
  warmMs.push(performance.now() - started);
}
jwksServer.close();

// What the router adds per request: the identity from the authorizer context, then the policy.
const context = (await handler(event)).context!;
const scopeCheckMs: number[] = [];
for (let i = 0; i < warmRuns; i++) {
  const started = performance.now();
  const identity = identityFromClaims(context, 'tenant');
  const access = { kind: 'search', resourceType: 'Observation' } as const;
  authorize(identity, access);
  patientCompartmentOf(identity, access);
  scopeCheckMs.push(performance.now() - started);
}

const cold = summarize(coldImportMs);
const warm = summarize(warmMs);
// Microseconds: two decimals of a millisecond would round it to 0.
const scopes = summarize(scopeCheckMs.map((ms) => ms * 1000));
console.log(`authorizer cold import     p50 ${cold.p50} ms  p99 ${cold.p99} ms  (n=${cold.n}, target ≤ 60 ms)`);
console.log(`warm verification          p50 ${warm.p50} ms  p99 ${warm.p99} ms  (n=${warm.n}, JWKS cached, RS256 2048-bit; target ≤ 1 ms)`);
console.log(`identity + scope check     p50 ${scopes.p50} µs  p99 ${scopes.p99} µs  (n=${scopes.n}; target ≤ 200 µs)`);
