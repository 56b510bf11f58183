/**
 * The export files in S3: NDJSON objects written whole, removed by prefix, and handed out as
 * presigned GET URLs. Against a local emulator (`S3_ENDPOINT`, fauxqs) requests are path-style,
 * so a presigned URL is `http://127.0.0.1:port/bucket/key?X-Amz-…` and works from curl as is.
 * Only the export status, cancel and worker functions import this module (as a driver).
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ExportConfig } from '../config.js';
import type { ExportFiles } from './drivers.js';

const NDJSON = 'application/fhir+ndjson';

export function s3ExportFiles(config: ExportConfig, region: string): ExportFiles {
  const client = new S3Client({ region, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}) });
  const bucket = config.bucket;
  return {
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: NDJSON }));
    },
    async deletePrefix(prefix) {
      let removed = 0;
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
        if (keys.length > 0) {
          await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
          removed += keys.length;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return removed;
    },
    url(key, seconds) {
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: seconds });
    },
  };
}
