/**
 * The OpenSearch domain the stream processor indexes into and the search handler queries. Its
 * documents are derived from the table (the source of truth), so it can be rebuilt by replaying.
 *
 * Access is IAM only (requests signed with SigV4 by the functions' roles): SST's default
 * fine-grained access control with an internal master user would map those roles to no
 * OpenSearch role, so it is switched off, and the domain policy, open to everyone in SST's
 * default, is narrowed to this account's IAM principals. Tenant isolation is the handlers' job
 * (every query and document carries the tenant), as it is for the table. Encryption at rest,
 * node-to-node encryption and HTTPS-only stay as SST sets them.
 */
export function createSearch() {
  const production = $app.stage === 'production';
  const account = aws.getCallerIdentityOutput({}).accountId;
  const partition = aws.getPartitionOutput({}).partition;
  const region = aws.getRegionOutput({}).region;
  return new sst.aws.OpenSearch('FhirSearch', {
    // One small node is enough to develop and test against; production gets two nodes in two
    // zones so search survives losing one.
    instance: production ? 'm7g.large' : 't3.small',
    transform: {
      domain: (args) => {
        args.advancedSecurityOptions = { enabled: false };
        if (production) {
          args.clusterConfig = {
            instanceType: 'm7g.large.search',
            instanceCount: 2,
            zoneAwarenessEnabled: true,
            zoneAwarenessConfig: { availabilityZoneCount: 2 },
            dedicatedMasterEnabled: false,
          };
        }
      },
      policy: (args) => {
        args.accessPolicies = aws.iam.getPolicyDocumentOutput({
          statements: [
            {
              principals: [{ type: 'AWS', identifiers: [$interpolate`arn:${partition}:iam::${account}:root`] }],
              actions: ['es:ESHttp*'],
              resources: [$interpolate`arn:${partition}:es:${region}:${account}:domain/${args.domainName}/*`],
            },
          ],
        }).json;
      },
    },
  });
}

/** The index of current resources (core/config.ts's default), named here for the IAM paths of infra/policies.ts. */
export const SEARCH_INDEX = 'fhir-resources';

/** The domain's ARN, which IAM paths hang from (infra/policies.ts); undefined in dev mode, where none is deployed. */
export function searchDomainArn(search: sst.aws.OpenSearch): $util.Output<string> | undefined {
  return search.nodes.domain?.arn;
}

/** What a function needs to reach the domain: its URL, index and the signing mode (`core/search`). */
export function searchEnvironment(search: sst.aws.OpenSearch): Record<string, $util.Input<string>> {
  return { OPENSEARCH_URL: search.url, OPENSEARCH_INDEX: SEARCH_INDEX, OPENSEARCH_AUTH: 'sigv4' };
}
