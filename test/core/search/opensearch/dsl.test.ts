/**
 * The DSL building blocks (core/search/opensearch/dsl.ts): the one form in which a body is sent.
 */
import { describe, expect, it } from 'vitest';
import { tenantScoped } from '../../../../core/search/opensearch/dsl.js';
import { parseTenantId } from '../../../../core/tenant.js';

describe('tenantScoped', () => {
  it('filters the body to the tenant and routes it to the tenant', () => {
    const scoped = tenantScoped(parseTenantId('t1'), { query: { bool: { should: [{ term: { id: 'x' } }, { match_all: {} }] } }, size: 5 });
    expect(scoped).toEqual({
      routing: 't1',
      body: { size: 5, query: { bool: { filter: [{ term: { tenant: 't1' } }, { bool: { should: [{ term: { id: 'x' } }, { match_all: {} }] } }] } } },
    });
  });
});
