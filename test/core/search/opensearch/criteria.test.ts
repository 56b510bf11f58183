/**
 * The DSL translation of search criteria (core/search/opensearch/criteria.ts), its pure parts:
 * how a system search groups types, and the URIs `:above` accepts.
 */
import { describe, expect, it } from 'vitest';
import { parseSearchRequest } from '../../../../core/fhir/interactions.js';
import { resourceTypes } from '../../../../core/r4/definitions.js';
import { matchingQuery, urisAbove } from '../../../../core/search/opensearch/criteria.js';
import { type MatchSource, resolveCriteria } from '../../../../core/search/resolve.js';
import { parseTenantId } from '../../../../core/tenant.js';

describe('matchingQuery', () => {
  it('asks a system search over every type in one clause when the types translate alike', async () => {
    const query = parseSearchRequest({ parameters: { _id: ['a,b'] }, strict: true, defaultCount: 20, maxCount: 1000 });
    const noInnerSearches: MatchSource = {
      findMatching: () => Promise.reject(new Error('no inner search expected')),
      readCurrent: () => Promise.reject(new Error('no read expected')),
    };
    const byType = await Promise.all(query.resourceTypes.map(async (resourceType) => ({ resourceType, criteria: await resolveCriteria(noInnerSearches, parseTenantId('t1'), resourceType, query) })));
    const dsl = matchingQuery(byType, 0) as { bool: { filter: [{ terms: { resourceType: string[] } }, unknown] } };
    expect(query.resourceTypes.length).toBe(resourceTypes().length);
    expect(dsl.bool.filter[0].terms.resourceType).toEqual(query.resourceTypes);
  });
});

describe('urisAbove', () => {
  it('lists the URI and each prefix ending at a slash, with and without it', () => {
    expect(urisAbove('http://a.org/fhir/ValueSet/x')).toEqual([
      'http://a.org/fhir/ValueSet/x',
      'http:/',
      'http:',
      'http://',
      'http://a.org/',
      'http://a.org',
      'http://a.org/fhir/',
      'http://a.org/fhir',
      'http://a.org/fhir/ValueSet/',
      'http://a.org/fhir/ValueSet',
    ]);
  });
});
