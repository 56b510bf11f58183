/**
 * How reindex and ingest find the stack `npm start` runs: the file it announces itself in, its
 * clean-up, a file left by a stack that died, and which of flags, environment and stack wins.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { announceLocalStack, runningLocalStack, toolConfig } from '../../scripts/cli/local-stack.js';

const scratch = await mkdtemp(join(tmpdir(), 'fhir-local-stack-test-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

const handlerEnv = {
  FHIR_TABLE_NAME: 'fhir-local',
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:8123',
  AWS_REGION: 'us-east-1',
  OPENSEARCH_URL: 'http://127.0.0.1:9201',
  AWS_ACCESS_KEY_ID: 'AKIAREAL',
  AWS_SECRET_ACCESS_KEY: 'real-secret',
};

it('announces the stack until it stops, without its credentials', async () => {
  const file = join(scratch, 'announced.json');
  const forget = await announceLocalStack('http://127.0.0.1:3999', handlerEnv, file);
  const stack = await runningLocalStack(file);
  expect(stack).toMatchObject({ pid: process.pid, apiUrl: 'http://127.0.0.1:3999', settings: { FHIR_TABLE_NAME: 'fhir-local', OPENSEARCH_URL: 'http://127.0.0.1:9201' } });
  expect(await readFile(file, 'utf8')).not.toMatch(/real-secret|AKIAREAL/);
  await forget();
  expect(await runningLocalStack(file)).toBeUndefined();
});

it('ignores a file left by a stack that is gone', async () => {
  const file = join(scratch, 'stale.json');
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  await writeFile(file, JSON.stringify({ pid: gone, apiUrl: 'http://127.0.0.1:3999', settings: { FHIR_TABLE_NAME: 'old' } }));
  expect(await runningLocalStack(file)).toBeUndefined();
  await expect(toolConfig({}, { usage: 'usage: tool', env: {}, stackFile: file })).rejects.toThrow(/start the local stack \(npm start\).*--table/s);
});

it('takes flags over the environment, and the running stack only where neither names a table', async () => {
  const stackFile = join(scratch, 'running.json');
  await announceLocalStack('http://127.0.0.1:3999', handlerEnv, stackFile);
  const usage = 'usage: tool';

  const fromStack = await toolConfig({}, { usage, env: {}, stackFile });
  expect(fromStack.stack?.pid).toBe(process.pid);
  expect(fromStack.config).toMatchObject({ tableName: 'fhir-local', dynamoEndpoint: 'http://127.0.0.1:8123', openSearch: { url: 'http://127.0.0.1:9201' } });

  const flagged = await toolConfig({ OPENSEARCH_URL: 'http://127.0.0.1:9300', FHIR_TABLE_NAME: undefined }, { usage, env: {}, stackFile });
  expect(flagged.config).toMatchObject({ tableName: 'fhir-local', openSearch: { url: 'http://127.0.0.1:9300' } });

  // A table of the environment is another target: nothing of the stack is mixed into it.
  const fromEnv = await toolConfig({}, { usage, env: { FHIR_TABLE_NAME: 'prod' }, stackFile });
  expect(fromEnv.stack).toBeUndefined();
  expect(fromEnv.config).toMatchObject({ tableName: 'prod', dynamoEndpoint: undefined, openSearch: undefined });

  const fromFlag = await toolConfig({ FHIR_TABLE_NAME: 'other', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }, { usage, env: { FHIR_TABLE_NAME: 'prod' }, stackFile });
  expect(fromFlag.config).toMatchObject({ tableName: 'other', dynamoEndpoint: 'http://127.0.0.1:8000' });
});
