/**
 * Input for the ingest tests (ingest.test.ts against a fake server, ingest-local-api.test.ts
 * against the local API): folders of files in a scratch directory, NDJSON, transaction Bundles.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll } from 'vitest';

export type FolderOf = (files: Record<string, string>) => Promise<{ folder: string; stateFile: string }>;

/** A scratch directory for the test file, removed in `afterAll`, and a maker of fresh folders in it. */
export function useScratchFolders(): FolderOf {
  const scratch = mkdtemp(join(tmpdir(), 'fhir-ingest-test-'));
  afterAll(async () => {
    await rm(await scratch, { recursive: true, force: true });
  });
  /** A fresh folder holding `files`, and a state file beside it. */
  return async (files) => {
    const dir = await mkdtemp(join(await scratch, 'run-'));
    const folder = join(dir, 'data');
    await mkdir(folder);
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(folder, name), content);
    }
    return { folder, stateFile: join(dir, 'state.json') };
  };
}

export const ndjson = (resources: readonly object[]) => `${resources.map((resource) => JSON.stringify(resource)).join('\n')}\n`;
export const patient = (id: string, extra: Partial<Patient> = {}): Patient => ({ resourceType: 'Patient', id, ...extra });

export function transaction(...resources: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource, request: { method: 'POST', url: resource.resourceType } })),
  };
}
