/**
 * The pages of a DynamoDB Query or Scan, following LastEvaluatedKey: the one pagination loop of
 * the code base. A consumer may stop early (`break` out of its `for await`); with `limit`, no
 * request asks for more items than are still wanted and the pages end once none are.
 */
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  ScanCommand,
  type ScanCommandInput,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';

export interface PageOptions {
  /**
   * The most items wanted. A number counts the items the pages returned; a function is asked
   * before each request how many are still wanted, for a caller that counts something else
   * (distinct resources among index keys).
   */
  readonly limit?: number | (() => number);
}

export function queryPages(client: DynamoDBDocumentClient, input: QueryCommandInput, options: PageOptions = {}): AsyncGenerator<QueryCommandOutput> {
  return pages((request) => client.send(new QueryCommand(request)), input, options);
}

export function scanPages(client: DynamoDBDocumentClient, input: ScanCommandInput, options: PageOptions = {}): AsyncGenerator<ScanCommandOutput> {
  return pages((request) => client.send(new ScanCommand(request)), input, options);
}

async function* pages<Input extends QueryCommandInput | ScanCommandInput, Output extends QueryCommandOutput | ScanCommandOutput>(
  send: (input: Input) => Promise<Output>,
  input: Input,
  options: PageOptions,
): AsyncGenerator<Output> {
  const { limit } = options;
  let returned = 0;
  let start = input.ExclusiveStartKey;
  do {
    const wanted = limit === undefined ? undefined : typeof limit === 'number' ? limit - returned : limit();
    if (wanted !== undefined && wanted <= 0) {
      return;
    }
    const page = await send({ ...input, ExclusiveStartKey: start, ...(wanted === undefined ? {} : { Limit: wanted }) });
    returned += page.Items?.length ?? 0;
    yield page;
    start = page.LastEvaluatedKey;
  } while (start);
}
