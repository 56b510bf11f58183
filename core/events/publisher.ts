/**
 * Publishes change and audit events to SNS. Each message carries the attributes subscribers
 * filter on (`tenantId`, `resourceType`, `action`) and a stable `eventId`, because SNS delivers
 * at least once and the stream processor may publish an event again after a retry: subscribers
 * de-duplicate by `eventId`.
 */
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import type { EventsConfig } from '../config.js';

export type EventTopic = 'changes' | 'audit';

export interface OutgoingEvent {
  readonly topic: EventTopic;
  readonly eventId: string;
  readonly tenantId: string;
  readonly resourceType: string;
  /** `create`/`update`/`delete` for changes; the audited interaction (`read`, `search-type`, …) for audit. */
  readonly action: string;
  readonly body: unknown;
}

/** SNS takes at most 10 messages per PublishBatch. */
const BATCH_LIMIT = 10;

export class EventPublisher {
  private readonly topics: Record<EventTopic, string | undefined>;

  constructor(
    private readonly sns: SNSClient,
    config: EventsConfig,
  ) {
    this.topics = { changes: config.changeTopicArn, audit: config.auditTopicArn };
  }

  static fromConfig(config: EventsConfig, region: string): EventPublisher {
    const sns = new SNSClient({ region, ...(config.snsEndpoint ? { endpoint: config.snsEndpoint } : {}) });
    // As for DynamoDB (core/storage/dynamo-client.ts): no SDK logger, so no copy of each message for it.
    sns.middlewareStack.remove('loggerMiddleware');
    return new EventPublisher(sns, config);
  }

  /** Whether events of `topic` go anywhere; unconfigured topics are skipped (a local run without SNS). */
  publishes(topic: EventTopic): boolean {
    return this.topics[topic] !== undefined;
  }

  /** Publishes every event; the result holds, per event, the error that kept it from SNS (undefined: published). */
  async publish(events: readonly OutgoingEvent[]): Promise<(Error | undefined)[]> {
    const results: (Error | undefined)[] = events.map(() => undefined);
    const batches: { topicArn: string; indexes: number[] }[] = [];
    for (const topic of ['changes', 'audit'] as const) {
      const topicArn = this.topics[topic];
      const indexes = events.flatMap((event, index) => (event.topic === topic ? [index] : []));
      if (topicArn === undefined) {
        continue;
      }
      for (let i = 0; i < indexes.length; i += BATCH_LIMIT) {
        batches.push({ topicArn, indexes: indexes.slice(i, i + BATCH_LIMIT) });
      }
    }
    await Promise.all(
      batches.map(async ({ topicArn, indexes }) => {
        try {
          const response = await this.sns.send(
            new PublishBatchCommand({
              TopicArn: topicArn,
              PublishBatchRequestEntries: indexes.map((index) => entryOf(String(index), events[index])),
            }),
          );
          for (const failed of response.Failed ?? []) {
            results[Number(failed.Id)] = new Error(`SNS refused event ${events[Number(failed.Id)].eventId}: ${failed.Code} ${failed.Message ?? ''}`);
          }
        } catch (error) {
          for (const index of indexes) {
            results[index] = error as Error;
          }
        }
      }),
    );
    return results;
  }
}

function entryOf(id: string, event: OutgoingEvent) {
  const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
  return {
    Id: id,
    Message: JSON.stringify(event.body),
    MessageAttributes: {
      eventId: attribute(event.eventId),
      tenantId: attribute(event.tenantId),
      resourceType: attribute(event.resourceType),
      action: attribute(event.action),
    },
  };
}
