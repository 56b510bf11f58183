/**
 * The one OpenSearch client of a process. Deployed, requests are signed with the function's IAM
 * role (SigV4, Amazon OpenSearch Service); locally the URL is used as is (a user:password in it
 * becomes basic auth).
 */
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import type { OpenSearchConfig } from '../../config.js';

export function openSearchClient(config: OpenSearchConfig, region: string): Client {
  if (config.auth === 'sigv4') {
    return new Client({ ...AwsSigv4Signer({ region, service: 'es' }), node: config.url });
  }
  return new Client({ node: config.url });
}
