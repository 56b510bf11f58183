/**
 * `npm run analytics -- --tenant T`: one analytics run for a tenant against the running
 * `npm start`, through its API as a client would (`POST /$analytics`, then the run's
 * Content-Location until it completes), printing the run's progress, the report's place in the
 * local S3 bucket, and the HTML page saved under .build/analytics/ to open in a browser.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { localStackToken, runningLocalStack } from './cli/local-stack.js';

const USAGE = 'usage: npm run analytics -- --tenant T [--url URL] [--token JWT]';
const OUT_DIR = join(process.cwd(), '.build', 'analytics');

const { values } = parseArgs({ options: { tenant: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean' } } });
if (values.help || !values.tenant) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 1);
}
const tenant = values.tenant;
const stack = await runningLocalStack();
const baseUrl = values.url ?? stack?.apiUrl;
if (!baseUrl) {
  console.error(`No running npm start found, and no --url given.\n${USAGE}`);
  process.exit(1);
}
const token = values.token ?? (stack && (await localStackToken(stack, { tenant, scope: 'system/*.rs', subject: 'npm-run-analytics' })));
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : { 'x-tenant-id': tenant };

const started = await fetch(`${baseUrl}/$analytics`, { method: 'POST', headers });
if (started.status !== 202) {
  console.error(`POST /$analytics answered ${started.status}: ${await started.text()}`);
  process.exit(1);
}
const location = started.headers.get('content-location')!;
console.log(`run accepted: ${location}`);
const began = Date.now();
let report: { runId: string; asOf: string; resourcesByType: { data: { resourceType: string; count: number }[] } } | undefined;
while (!report) {
  const poll = await fetch(location, { headers });
  if (poll.status === 202) {
    process.stdout.write(`\r${poll.headers.get('x-progress')} … ${Math.round((Date.now() - began) / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } else if (poll.status === 200) {
    report = (await poll.json()) as typeof report;
  } else {
    console.error(`\nThe run failed: ${poll.status} ${await poll.text()}`);
    process.exit(1);
  }
}
const html = await (await fetch(`${location}&_format=html`, { headers })).text();
await mkdir(join(OUT_DIR, tenant), { recursive: true });
const file = join(OUT_DIR, tenant, `${report!.runId}.html`);
await writeFile(file, html);
const total = report!.resourcesByType.data.reduce((sum, type) => sum + type.count, 0);
console.log(`\ndone in ${Math.round((Date.now() - began) / 1000)} s: ${total} resources as of ${report!.asOf}`);
console.log(`S3 (local bucket): analytics/${tenant}/${report!.asOf.slice(0, 10)}/${report!.runId}.html and .json`);
console.log(`API: GET ${baseUrl}/$analytics?_format=html`);
console.log(`HTML report: ${relative(process.cwd(), file)}`);
