/**
 * The one definition of the FHIR table: used by `infra/` (SST), the local runtime and the tests.
 * Attribute names here are the only place the key attribute names are spelled.
 */
export const KEY_ATTRIBUTES = {
  partition: 'PK',
  sort: 'SK',
} as const;

export interface GlobalIndexSchema {
  /** DynamoDB index name. */
  readonly name: 'GSI1' | 'GSI2' | 'GSI3';
  readonly partitionKey: string;
  readonly sortKey: string;
  /** What the index answers; a comment for readers of infra and of the query planner. */
  readonly purpose: string;
}

/**
 * Every index projects KEYS_ONLY: the query paths read bodies back from the base table with a
 * strongly consistent BatchGetItem, so an index can never answer with a stale version, and a
 * write costs only a key-sized write per index instead of re-writing the whole body three times.
 */
export const GLOBAL_INDEXES: readonly GlobalIndexSchema[] = [
  { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK', purpose: 'search by attribute (e.g. Patient by family name)' },
  { name: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK', purpose: 'patient-centric: a patient compartment by type and time' },
  { name: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK', purpose: 'resource type by lastUpdated; type history' },
];

export interface TableSchema {
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly globalIndexes: readonly GlobalIndexSchema[];
  readonly streamView: 'NEW_AND_OLD_IMAGES';
  readonly billing: 'PAY_PER_REQUEST';
  /** The TTL attribute (epoch seconds): DynamoDB deletes expired items (recent changes left behind) on its own. */
  readonly timeToLiveAttribute: string;
}

export const FHIR_TABLE: TableSchema = {
  partitionKey: KEY_ATTRIBUTES.partition,
  sortKey: KEY_ATTRIBUTES.sort,
  globalIndexes: GLOBAL_INDEXES,
  streamView: 'NEW_AND_OLD_IMAGES',
  billing: 'PAY_PER_REQUEST',
  timeToLiveAttribute: 'expiresAt',
};

/** The table as a DynamoDB `CreateTable` request (all keys are strings). */
export function createTableInput(tableName: string) {
  const keyAttributes = [FHIR_TABLE.partitionKey, FHIR_TABLE.sortKey, ...FHIR_TABLE.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  return {
    TableName: tableName,
    BillingMode: FHIR_TABLE.billing,
    AttributeDefinitions: keyAttributes.map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: FHIR_TABLE.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: FHIR_TABLE.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: FHIR_TABLE.globalIndexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: FHIR_TABLE.streamView },
  };
}
