/**
 * Lambda refuses a response above 6 MB: a search page of large resources is cut short below it,
 * and its `next` link continues right after its last match, so every match is still returned once.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { useLocalApi } from '../support/local-api.js';
import { keyOf, readPages } from '../search/conformance.js';

const api = useLocalApi();

it('cuts a page that would exceed 6 MB and pages on from where it stopped', async () => {
  const tenant = `big-${randomUUID().slice(0, 8)}`;
  const family = `Large${randomUUID().slice(0, 6)}`;
  const created: string[] = [];
  for (let index = 0; index < 8; index++) {
    // ~1 MB of narrative-free text each: brotli stores it in a few KB, JSON returns all of it.
    const note = `${index} `.repeat(500_000);
    const response = await api.request('POST', '/Patient', { tenant, body: { resourceType: 'Patient', name: [{ family }], extension: [{ url: 'http://example.org/note', valueString: note }] } });
    expect(response.status, response.text.slice(0, 300)).toBe(201);
    created.push(`Patient/${response.json.id}`);
  }
  const first = await api.request('GET', `/Patient?family=${family}&_count=8`, { tenant });
  expect(first.text.length, 'the first page stays below 6 MB').toBeLessThan(6 * 1024 * 1024);
  const pages = await readPages(api, tenant, first);
  expect(pages[0]!.matches.length, 'the first page was cut short').toBeLessThan(8);
  const matches = pages.flatMap((page) => page.matches.map(keyOf));
  expect([...matches].sort(), 'every match once across the pages').toEqual([...created].sort());
});
