/**
 * The customer-managed KMS key that encrypts the table (and its stream), the SNS topics, the
 * dead-letter queue and the analytics reports, when the stage asks for one (infra/stage.ts). Like
 * the AWS-managed keys it replaces, it may be used by this account's principals only through those
 * four services, so IAM policies on DynamoDB, SNS, SQS and S3 keep deciding who reads what; key
 * administration stays with the account.
 */
export function createDataKey(enabled: boolean) {
  if (!enabled) {
    return undefined;
  }
  const account = aws.getCallerIdentityOutput({}).accountId;
  const partition = aws.getPartitionOutput({}).partition;
  const region = aws.getRegionOutput({}).region;
  return new aws.kms.Key('FhirDataKey', {
    description: `fhir-serverless ${$app.stage}: table, topics, dead-letter queue and analytics reports`,
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    policy: aws.iam.getPolicyDocumentOutput({
      statements: [
        {
          sid: 'AccountAdministers',
          principals: [{ type: 'AWS', identifiers: [$interpolate`arn:${partition}:iam::${account}:root`] }],
          actions: ['kms:*'],
          resources: ['*'],
        },
        {
          sid: 'UseThroughDataServices',
          principals: [{ type: 'AWS', identifiers: ['*'] }],
          actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey', 'kms:CreateGrant'],
          resources: ['*'],
          conditions: [
            { test: 'StringEquals', variable: 'kms:CallerAccount', values: [account] },
            { test: 'StringEquals', variable: 'kms:ViaService', values: ['dynamodb', 'sns', 'sqs', 's3'].map((service) => $interpolate`${service}.${region}.amazonaws.com`) },
          ],
        },
      ],
    }).json,
  });
}

export type DataKey = ReturnType<typeof createDataKey>;
