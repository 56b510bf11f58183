/**
 * The index's mapping over time (core/search/opensearch/mapping.ts), on the run's node: an index
 * created before a field existed takes documents with it once `ensureIndex` has run again.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { incompletelyIndexed } from '../../../../core/search/opensearch/index-issues.js';
import { ResourceIndexer } from '../../../../core/search/opensearch/indexer.js';
import { ensureIndex, INDEX_MAPPINGS, INDEX_SETTINGS } from '../../../../core/search/opensearch/mapping.js';
import { parseTenantId } from '../../../../core/tenant.js';

describe('ensureIndex', () => {
  it('adds indexIssues to an index created without it, so a degraded document is indexed and listed', async () => {
    const client = new Client({ node: inject('openSearchUrl') });
    const index = `fhir-test-${randomUUID().slice(0, 8)}`;
    onTestFinished(async () => {
      await client.indices.delete({ index });
      await client.close();
    });
    const { indexIssues: _, ...before } = INDEX_MAPPINGS.properties;
    await client.indices.create({ index, body: { settings: { index: INDEX_SETTINGS }, mappings: { ...INDEX_MAPPINGS, properties: before } } as never });

    await ensureIndex(client, index);
    const tenant = parseTenantId('mapping');
    const resource = { resourceType: 'Patient' as const, id: 'long', name: [{ family: 'x'.repeat(9_000) }] };
    const failures = await new ResourceIndexer(client, index, { onIncomplete: () => {} }).apply([{ tenant, resourceType: 'Patient', id: 'long', version: 1, resource }], { refresh: true });
    expect(failures).toEqual([undefined]);
    const listed = [];
    for await (const item of incompletelyIndexed(client, index)) {
      listed.push(item.ref);
    }
    expect(listed).toEqual(['Patient/long']);
  });
});
