/**
 * The SNS topics the stream processor publishes to: every committed change, and an AuditEvent for
 * every change. Subscribers (queues, Lambdas, other accounts) filter on the message attributes
 * `tenantId`, `resourceType` and `action` rather than on the body, so no consumer has to receive
 * another tenant's events.
 */
export function createEventTopics() {
  // Events name patients and what happened to their records (PHI): encrypted at rest with the
  // AWS-managed SNS key, which needs no key policy for same-account publishers.
  const encrypted = { transform: { topic: { kmsMasterKeyId: 'alias/aws/sns' } } };
  return {
    changes: new sst.aws.SnsTopic('FhirChangeTopic', encrypted),
    audit: new sst.aws.SnsTopic('FhirAuditTopic', encrypted),
  };
}

export type EventTopics = ReturnType<typeof createEventTopics>;
