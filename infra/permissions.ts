import type { AnalyticsResources } from './analytics';
import type { EventTopics } from './events';
import type { ExportResources } from './export';
import { functionStatements, type StackArns } from './policies';
import { SEARCH_INDEX, searchDomainArn } from './search';

export type DeployedArns = StackArns<$util.Input<string>>;

/** The deployed resources' ARNs, for infra/policies.ts. */
export function deployedArns(table: sst.aws.Dynamo, search: sst.aws.OpenSearch, topics: EventTopics, deadLetters: sst.aws.Queue, analytics: AnalyticsResources, exports: ExportResources): DeployedArns {
  return {
    table: table.arn,
    searchDomain: searchDomainArn(search),
    searchIndex: SEARCH_INDEX,
    topics: [topics.changes.arn, topics.audit.arn],
    deadLetters: deadLetters.arn,
    analytics: { bucket: analytics.bucket.arn, topic: analytics.topic.arn, function: analytics.functionArn },
    exports: { bucket: exports.bucket.arn, queue: exports.queue.arn },
    join: (arn, suffix) => $interpolate`${arn}${suffix}`,
  };
}

/** The function's least-privilege statements as SST `permissions` (its only grants: no `link`). */
export function permissionsOf(module: string, arns: DeployedArns): sst.aws.FunctionPermissionArgs[] {
  return functionStatements(module, arns).map(({ actions, resources, conditions }) => ({ actions, resources, ...(conditions && { conditions }) }));
}
