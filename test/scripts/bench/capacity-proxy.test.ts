/** Request units by AWS's rules, from requests and answers as they cross the wire (scripts/bench/capacity-proxy.ts). */
import { describe, expect, it } from 'vitest';
import { addRequest, type AwsCapacity, emptyCapacity } from '../../../scripts/bench/capacity-proxy.js';

const KB = 1024;

function cost(operation: string, input: Record<string, unknown>, output: Record<string, unknown> = {}): AwsCapacity {
  const usage = emptyCapacity();
  addRequest(usage, operation, input, output);
  return usage;
}

/** An item of about `bytes` bytes: keys plus one string attribute filling the rest. */
function item(bytes: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const keys = { PK: { S: 'p' }, SK: { S: 's' } };
  return { ...keys, ...extra, d: { S: 'x'.repeat(bytes - 'PKpSKsd'.length) } };
}

describe('request units by AWS rules', () => {
  it('reads in 4 KB units, halved when eventually consistent, at least one', () => {
    expect(cost('GetItem', { ConsistentRead: true }, { Item: item(5 * KB) }).readRequestUnits).toBe(2);
    expect(cost('GetItem', {}, { Item: item(5 * KB) }).readRequestUnits).toBe(1);
    expect(cost('GetItem', { ConsistentRead: true }, {}).readRequestUnits).toBe(1);
  });

  it('sums a Query before rounding, but rounds each item of a BatchGetItem, and charges keys found missing', () => {
    const items = [item(KB), item(KB), item(KB)];
    expect(cost('Query', { ConsistentRead: true }, { Items: items }).readRequestUnits).toBe(1);
    expect(cost('BatchGetItem', { RequestItems: { t: { Keys: [{}, {}, {}, {}], ConsistentRead: true } } }, { Responses: { t: items } }).readRequestUnits).toBe(4);
  });

  it('writes in 1 KB units, doubles transactional items, and adds an entry per global index the item is in', () => {
    const indexed = item(1.5 * KB, { GSI3PK: { S: 'TENANT#t#RESOURCE_TYPE#Patient' }, GSI3SK: { S: '2026-01-01T00:00:00.000Z#1' } });
    expect(cost('PutItem', { Item: item(1.5 * KB) })).toMatchObject({ writeRequestUnits: 2, indexWriteUnits: 0 });
    expect(cost('PutItem', { Item: indexed })).toMatchObject({ writeRequestUnits: 3, indexWriteUnits: 1 });
    const transaction = cost('TransactWriteItems', { TransactItems: [{ Put: { Item: indexed } }, { Put: { Item: item(100) } }, { ConditionCheck: {} }] });
    expect(transaction).toMatchObject({ writeRequestUnits: 2 * 2 + 1 + 2 * 1 + 2 * 1, indexWriteUnits: 1, operations: { TransactWriteItems: 1 } });
  });

  it('counts BatchWriteItem per item and leaves free operations free', () => {
    expect(cost('BatchWriteItem', { RequestItems: { t: [{ PutRequest: { Item: item(2.5 * KB) } }, { DeleteRequest: { Key: {} } }] } }).writeRequestUnits).toBe(3 + 1);
    expect(cost('DescribeTable', {})).toMatchObject({ readRequestUnits: 0, writeRequestUnits: 0 });
  });
});
