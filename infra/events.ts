import type { DataKey } from './keys';

/**
 * The SNS topics the stream processor publishes to: every committed change, and an AuditEvent for
 * every change. Subscribers (queues, Lambdas, other accounts) filter on the message attributes
 * `tenantId`, `resourceType` and `action` rather than on the body, so no consumer has to receive
 * another tenant's events.
 */
export function createEventTopics(key: DataKey) {
  // Events name patients and what happened to their records (PHI): encrypted at rest with the
  // stage's own key, else the AWS-managed SNS key.
  const encrypted = { transform: { topic: { kmsMasterKeyId: key ? key.arn : 'alias/aws/sns' } } };
  return {
    changes: new sst.aws.SnsTopic('FhirChangeTopic', encrypted),
    audit: new sst.aws.SnsTopic('FhirAuditTopic', encrypted),
  };
}

export type EventTopics = ReturnType<typeof createEventTopics>;
