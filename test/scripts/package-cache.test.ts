/** The cache of unpacked npm tarballs (scripts/local/package-cache.ts), without fetching anything. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedPackage } from '../../scripts/local/package-cache.js';

const scratch = await mkdtemp(join(tmpdir(), 'fhir-package-cache-test-'));

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('cachedPackage', () => {
  it('returns an unpacked package from the cache without fetching it again', async () => {
    const cache = join(scratch, 'cache');
    const unpacked = join(cache, 'packages', 'not-on-any-registry@1.0.0');
    await mkdir(unpacked, { recursive: true });
    await writeFile(join(unpacked, 'package.json'), '{}');
    const previous = process.env.FHIR_CACHE_DIR;
    process.env.FHIR_CACHE_DIR = cache;
    try {
      expect(await cachedPackage('not-on-any-registry', '1.0.0')).toBe(unpacked);
    } finally {
      if (previous === undefined) {
        delete process.env.FHIR_CACHE_DIR;
      } else {
        process.env.FHIR_CACHE_DIR = previous;
      }
    }
  });
});
