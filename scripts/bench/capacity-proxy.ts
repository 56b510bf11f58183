/**
 * DynamoDB capacity by AWS's rules, not by DynamoDB Local's reporting (which prices every
 * transaction as a constant and knows nothing of item sizes the way DynamoDB bills them): an HTTP
 * proxy in front of DynamoDB Local reads each request and its answer as they cross the wire and
 * counts read and write request units (on-demand; the same units as RCU/WCU):
 *
 * - reads: 1 unit per 4 KB (a Query: of all items returned together; a BatchGetItem or a
 *   GetItem: of each item), at least 1; eventually consistent ×0.5; TransactGetItems ×2;
 * - writes: 1 unit per 1 KB of the item written, at least 1; TransactWriteItems ×2 per item
 *   (conditions checks included); plus one write per global index the new item appears in (its
 *   keys and the table's, plus AWS's 100 bytes of index overhead, per 1 KB).
 *
 * Not visible on the wire, so not counted: the old item's size where it is larger than the new
 * one, and the second index write (removing the old entry) when an update moves an item's index
 * key, e.g. CURRENT's lastUpdated in GSI3 — index writes are a floor. Updates and deletes, whose
 * item does not cross the wire, count 1 unit (the items updated in place here are small records).
 *
 * The proxy runs in a child process, so that neither its CPU time nor its event loop is counted
 * in the handlers' figures measured in the benchmark's process.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FHIR_TABLE } from '../../core/storage/table-schema.js';

export interface AwsCapacity {
  /** Requests by DynamoDB operation. */
  operations: Record<string, number>;
  readRequestUnits: number;
  writeRequestUnits: number;
  /** Of the write units, those of global index entries. */
  indexWriteUnits: number;
}

export interface CapacityProxy {
  readonly endpoint: string;
  /** The capacity counted since the previous call. */
  take(): Promise<AwsCapacity>;
  close(): Promise<void>;
}

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

const READ_UNIT_BYTES = 4096;
const WRITE_UNIT_BYTES = 1024;
const INDEX_OVERHEAD_BYTES = 100;

const CHILD_FLAG = '--serve-capacity-proxy';

/** Starts the proxy in a child process, in front of the DynamoDB endpoint `target`. */
export async function startCapacityProxy(target: string): Promise<CapacityProxy> {
  const child = fork(new URL(import.meta.url), [CHILD_FLAG, target], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ready] = (await once(child, 'message')) as [{ endpoint: string }];
  let pending: ((usage: AwsCapacity) => void) | undefined;
  child.on('message', (message) => pending?.(message as AwsCapacity));
  return {
    endpoint: ready.endpoint,
    take: () =>
      new Promise((resolve) => {
        pending = resolve;
        child.send('take');
      }),
    async close() {
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}

if (process.argv[2] === CHILD_FLAG && process.send) {
  const proxy = await serveCapacityProxy(process.argv[3]!);
  process.on('message', () => process.send!(proxy.take()));
  process.send({ endpoint: proxy.endpoint });
}

async function serveCapacityProxy(target: string): Promise<{ endpoint: string; take(): AwsCapacity }> {
  const upstream = new URL(target);
  let usage = emptyCapacity();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const forwarded = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, async (answer) => {
        const answerBody = await readAll(answer);
        const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1];
        if (operation && (answer.statusCode ?? 500) < 300) {
          addRequest(usage, operation, parse(body), parse(answerBody));
        }
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        res.end(answerBody);
      });
      forwarded.on('error', (error) => res.destroy(error));
      forwarded.end(body);
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take() {
      const taken = usage;
      usage = emptyCapacity();
      return taken;
    },
  };
}

export function emptyCapacity(): AwsCapacity {
  return { operations: {}, readRequestUnits: 0, writeRequestUnits: 0, indexWriteUnits: 0 };
}

/** Adds what one request cost (`input` and `output` as on the wire: DynamoDB JSON). */
export function addRequest(usage: AwsCapacity, operation: string, input: Record<string, unknown>, output: Record<string, unknown>): void {
  usage.operations[operation] = (usage.operations[operation] ?? 0) + 1;
  const consistency = (consistent: unknown) => (consistent === true ? 1 : 0.5);
  const write = (item: Item | undefined, transactional: boolean) => {
    const factor = transactional ? 2 : 1;
    usage.writeRequestUnits += factor * (item ? units(itemSize(item), WRITE_UNIT_BYTES) : 1);
    const index = item ? indexWriteUnits(item) : 0;
    usage.writeRequestUnits += index;
    usage.indexWriteUnits += index;
  };
  switch (operation) {
    case 'GetItem':
      usage.readRequestUnits += units(itemSize(output.Item as Item | undefined), READ_UNIT_BYTES) * consistency(input.ConsistentRead);
      break;
    case 'BatchGetItem':
      for (const [table, request] of Object.entries((input.RequestItems ?? {}) as Record<string, { Keys: unknown[]; ConsistentRead?: boolean }>)) {
        const found = ((output.Responses as Record<string, Item[]> | undefined)?.[table] ?? []).map((item) => units(itemSize(item), READ_UNIT_BYTES));
        // A key that finds nothing still costs the minimum.
        const missing = Math.max(0, request.Keys.length - found.length);
        usage.readRequestUnits += (found.reduce((sum, n) => sum + n, 0) + missing) * consistency(request.ConsistentRead);
      }
      break;
    case 'Query':
    case 'Scan': {
      const bytes = ((output.Items ?? []) as Item[]).reduce((sum, item) => sum + itemSize(item), 0);
      usage.readRequestUnits += units(bytes, READ_UNIT_BYTES) * consistency(input.ConsistentRead);
      break;
    }
    case 'TransactGetItems':
      usage.readRequestUnits += ((output.Responses ?? []) as { Item?: Item }[]).reduce((sum, response) => sum + 2 * units(itemSize(response.Item), READ_UNIT_BYTES), 0);
      break;
    case 'PutItem':
      write(input.Item as Item, false);
      break;
    case 'UpdateItem':
    case 'DeleteItem':
      write(undefined, false);
      break;
    case 'BatchWriteItem':
      for (const requests of Object.values((input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Item } }[]>)) {
        for (const request of requests) {
          write(request.PutRequest?.Item, false);
        }
      }
      break;
    case 'TransactWriteItems':
      for (const action of (input.TransactItems ?? []) as { Put?: { Item: Item } }[]) {
        write(action.Put?.Item, true);
      }
      break;
    default:
      // DescribeTable and the like are free.
      break;
  }
}

function units(bytes: number, unit: number): number {
  return Math.max(1, Math.ceil(bytes / unit));
}

/** One entry per global index whose keys the item has: its keys, the table's, and the index overhead. */
function indexWriteUnits(item: Item): number {
  const tableKeys = attributeSize(FHIR_TABLE.partitionKey, item[FHIR_TABLE.partitionKey]) + attributeSize(FHIR_TABLE.sortKey, item[FHIR_TABLE.sortKey]);
  return FHIR_TABLE.globalIndexes
    .filter((index) => item[index.partitionKey] !== undefined && item[index.sortKey] !== undefined)
    .reduce((sum, index) => {
      const bytes = tableKeys + attributeSize(index.partitionKey, item[index.partitionKey]) + attributeSize(index.sortKey, item[index.sortKey]) + INDEX_OVERHEAD_BYTES;
      return sum + units(bytes, WRITE_UNIT_BYTES);
    }, 0);
}

/** DynamoDB's item size: each attribute's name and value (developer guide, "Item sizes and formats"). */
function itemSize(item: Item | undefined): number {
  return item ? Object.entries(item).reduce((sum, [name, value]) => sum + attributeSize(name, value), 0) : 0;
}

function attributeSize(name: string, value: AttributeValue | undefined): number {
  return value === undefined ? 0 : Buffer.byteLength(name) + valueSize(value);
}

function valueSize(value: AttributeValue): number {
  const [[type, content]] = Object.entries(value) as [[string, unknown]];
  switch (type) {
    case 'S':
      return Buffer.byteLength(content as string);
    case 'N':
      return numberSize(content as string);
    case 'B':
      return Buffer.from(content as string, 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (content as string[]).reduce((sum, s) => sum + Buffer.byteLength(s), 0);
    case 'NS':
      return (content as string[]).reduce((sum, n) => sum + numberSize(n), 0);
    case 'BS':
      return (content as string[]).reduce((sum, b) => sum + Buffer.from(b, 'base64').length, 0);
    case 'L':
      return 3 + (content as AttributeValue[]).reduce((sum, element) => sum + 1 + valueSize(element), 0);
    case 'M':
      return 3 + Object.entries(content as Item).reduce((sum, [key, element]) => sum + 1 + Buffer.byteLength(key) + valueSize(element), 0);
    default:
      throw new Error(`Unknown DynamoDB attribute type ${type}`);
  }
}

/** Numbers: about one byte per two significant digits, plus one. */
function numberSize(text: string): number {
  const digits = text.replace(/^-/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parse(body: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}
