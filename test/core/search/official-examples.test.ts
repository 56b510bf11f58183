/**
 * Every search parameter of every R4 type, evaluated against every official example of that type
 * (npm `hl7.fhir.r4.examples@4.0.1`, definitional resources included: they are the examples of
 * the conformance types). It proves that Medplum evaluates each R4 expression as narrowed by the
 * build (`ofType`, `where(resolve() is …)`, `exists() and … != false`, `%resource`,
 * `entry[0].resource`), and that each parameter type yields values from real resources.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { isResourceType } from '../../../core/r4/definitions.js';
import { extractValues } from '../../../core/r4/extract.js';
import { searchParameters } from '../../../core/r4/search-parameters.js';
import type { SearchParameterType } from '../../../core/r4/search-types.js';
import { cachedPackage } from '../../../scripts/local/package-cache.js';

interface Sweep {
  readonly resourceTypes: Set<string>;
  /** `Type.code (expression)` → the first example it failed on, with the error. */
  readonly failures: Map<string, string>;
  readonly valuesByParamType: Map<SearchParameterType, number>;
}

let sweep: Sweep;

beforeAll(async () => {
  const dir = await cachedPackage('hl7.fhir.r4.examples', '4.0.1');
  sweep = { resourceTypes: new Set(), failures: new Map(), valuesByParamType: new Map() };
  for (const file of readdirSync(dir).filter((name) => /^[A-Z][A-Za-z]+-.+\.json$/.test(name))) {
    const resource = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Resource;
    if (isResourceType(resource.resourceType)) {
      evaluateEveryParameter(resource, file);
    }
  }
}, 120_000);

function evaluateEveryParameter(resource: Resource, file: string): void {
  sweep.resourceTypes.add(resource.resourceType);
  for (const param of searchParameters(resource.resourceType).values()) {
    try {
      const count = extractValues(resource, param).length;
      sweep.valuesByParamType.set(param.type, (sweep.valuesByParamType.get(param.type) ?? 0) + count);
    } catch (error) {
      const key = `${resource.resourceType}.${param.code} (${param.expression})`;
      if (!sweep.failures.has(key)) {
        sweep.failures.set(key, `${file}: ${(error as Error).message}`);
      }
    }
  }
}

describe('search values of the official R4 examples', () => {
  it('cover nearly every resource type (140 of the 146 have examples)', () => {
    expect(sweep.resourceTypes.size).toBeGreaterThanOrEqual(140);
  });

  it('evaluate every parameter without an error', () => {
    expect(Object.fromEntries(sweep.failures)).toEqual({});
  });

  it('yield values of every parameter type but special', () => {
    for (const type of ['string', 'token', 'reference', 'date', 'number', 'quantity', 'uri', 'composite'] as const) {
      expect(sweep.valuesByParamType.get(type), type).toBeGreaterThan(0);
    }
  });
});
