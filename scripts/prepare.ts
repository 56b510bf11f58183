/**
 * What `npm test` and `npm run bench` need before they start, done once and cached: the DynamoDB
 * Local jar (fetched into the package cache, outside the repository) and the generated FHIR
 * definitions. `npm start` runs it too. Run: `npx tsx scripts/prepare.ts`.
 */
import { buildDefinitions } from './build-definitions.js';
import { dynamoDbLocalDir } from './local/dynamodb-local.js';

export interface Prepared {
  /** Directory holding DynamoDBLocal.jar. */
  readonly dynamoDbLocalDir: string;
  /** Directory holding the generated FHIR definitions. */
  readonly definitionsDir: string;
}

export async function prepare(): Promise<Prepared> {
  const { outDir } = buildDefinitions();
  return { dynamoDbLocalDir: await dynamoDbLocalDir(), definitionsDir: outDir };
}

if (import.meta.main) {
  const prepared = await prepare();
  console.log(`DynamoDB Local: ${prepared.dynamoDbLocalDir}\nFHIR definitions: ${prepared.definitionsDir}`);
}
