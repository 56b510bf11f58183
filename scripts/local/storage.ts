/**
 * Local S3: buckets in the `fauxqs` emulator that `startLocalMessaging` runs (fauxqs serves SNS,
 * SQS and S3 on one endpoint), spoken to with `@aws-sdk/client-s3` as on AWS. Path-style
 * requests, so object URLs (and presigned URLs) are `http://127.0.0.1:port/bucket/key` and work
 * from curl without DNS tricks. Any part of the local stack that needs a bucket (bulk export,
 * analytics reports) creates its own here.
 */
import { CreateBucketCommand, PutBucketLifecycleConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from './credentials.js';
import type { LocalMessaging } from './messaging.js';

export interface LocalBucket {
  readonly name: string;
  /** The S3 endpoint (the emulator's), for `endpoint` with `forcePathStyle: true`. */
  readonly endpoint: string;
  /** `S3_ENDPOINT`, what handlers read to reach it. */
  readonly env: Record<string, string>;
}

/**
 * Creates `name` (idempotent) in the emulator; with `expireAfterDays`, a lifecycle rule as
 * deployed (fauxqs stores it but does not enforce it).
 */
export async function createLocalBucket(messaging: Pick<LocalMessaging, 'endpoint' | 'region'>, name: string, options: { expireAfterDays?: number } = {}): Promise<LocalBucket> {
  const s3 = new S3Client({ endpoint: messaging.endpoint, region: messaging.region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    if (options.expireAfterDays !== undefined) {
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: name,
          LifecycleConfiguration: { Rules: [{ ID: 'expire', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: options.expireAfterDays } }] },
        }),
      );
    }
  } finally {
    s3.destroy();
  }
  return { name, endpoint: messaging.endpoint, env: { S3_ENDPOINT: messaging.endpoint } };
}
