/**
 * `npm run token`: an access token of the local issuer, for `npm start` in JWT mode (the default).
 * What it grants goes to stderr; the token alone is the last line of stdout, so
 *
 *   TOKEN=$(npm run -s token -- --tenant demo --scope "user/*.cruds" | tail -1)
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/Patient
 *
 *   npm run token -- --tenant T --scope "user/*.cruds" [--patient ID] [--client ID] [--subject S]
 *                    [--fhir-user Practitioner/1] [--expires-in SECONDS]
 */
import { parseArgs } from 'node:util';
import { formatScope, parseScopes } from '../core/auth/scopes.js';
import { loadAuthConfig } from '../core/config.js';
import { isValidId } from '../core/r4/ids.js';
import { parseTenantId } from '../core/tenant.js';
import { DEFAULT_KEY_DIR, issueToken, localSigningKey } from './local/local-issuer.js';

const USAGE = 'usage: npm run token -- --tenant T --scope "user/*.cruds" [--patient ID] [--client ID] [--subject S] [--fhir-user REF] [--expires-in SECONDS]';

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        tenant: { type: 'string' },
        scope: { type: 'string' },
        patient: { type: 'string' },
        client: { type: 'string' },
        subject: { type: 'string' },
        'fhir-user': { type: 'string' },
        'expires-in': { type: 'string' },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

if (!values.tenant || !values.scope) {
  fail('--tenant and --scope are required');
}
try {
  parseTenantId(values.tenant);
} catch {
  fail(`--tenant "${values.tenant}" is not a tenant id (1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit)`);
}
let scopes: string[];
try {
  scopes = parseScopes(values.scope).map(formatScope);
} catch (error) {
  fail((error as Error).message);
}
if (values.patient !== undefined && !isValidId(values.patient)) {
  fail(`--patient "${values.patient}" is not a FHIR id`);
}
const expiresIn = Number(values['expires-in'] ?? 3600);
if (!Number.isInteger(expiresIn) || expiresIn <= 0) {
  fail(`--expires-in must be a positive number of seconds, got "${values['expires-in']}"`);
}

const key = await localSigningKey();
const token = issueToken(key, {
  tenant: values.tenant,
  scope: values.scope,
  tenantClaim: loadAuthConfig().tenantClaim,
  subject: values.subject,
  patient: values.patient,
  clientId: values.client,
  fhirUser: values['fhir-user'],
  expiresInSeconds: expiresIn,
});
console.error(`Token of the local issuer (key in ${DEFAULT_KEY_DIR}) for tenant ${values.tenant}, valid ${expiresIn} s; resource scopes: ${scopes.join(' ') || 'none'}${values.patient ? `; patient ${values.patient}` : ''}`);
console.log(token);
