/**
 * What `npm test`, `npm run bench` and `npm start` need before they start, done once and cached
 * outside the repository: the DynamoDB Local jar, OpenSearch's jars (when Java and Maven are
 * present; without them the system runs on the DynamoDB search engine) and the generated FHIR
 * definitions. Run: `npx tsx scripts/prepare.ts`.
 */
import { buildDefinitions } from './build-definitions.js';
import { dynamoDbLocalDir } from './local/dynamodb-local.js';
import { canRunLocalOpenSearch, openSearchRunnerJars } from './local/opensearch.js';

export interface Prepared {
  /** Directory holding DynamoDBLocal.jar. */
  readonly dynamoDbLocalDir: string;
  /** Directory holding OpenSearch's jars; undefined when Java or Maven is missing. */
  readonly openSearchDir: string | undefined;
  /** Directory holding the generated FHIR definitions. */
  readonly definitionsDir: string;
}

export async function prepare(): Promise<Prepared> {
  const { outDir } = buildDefinitions();
  const [dynamoDir, openSearchDir] = await Promise.all([dynamoDbLocalDir(), (await canRunLocalOpenSearch()) ? openSearchRunnerJars() : undefined]);
  return { dynamoDbLocalDir: dynamoDir, openSearchDir, definitionsDir: outDir };
}

if (import.meta.main) {
  const prepared = await prepare();
  console.log(
    `DynamoDB Local: ${prepared.dynamoDbLocalDir}\nOpenSearch: ${prepared.openSearchDir ?? 'not available (needs Java and Maven)'}\nFHIR definitions: ${prepared.definitionsDir}`,
  );
}
