/** Local SNS/SQS (fauxqs in process) through the AWS SDK: topics, filter policies, delivery modes. */
import { ListTopicsCommand, PublishBatchCommand, type PublishBatchRequestEntry, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TOPICS, type LocalMessaging, type ReceivedEvent, startLocalMessaging, subscribeQueue } from '../../scripts/local/messaging.js';

let messaging: LocalMessaging;
let sns: SNSClient;

beforeAll(async () => {
  messaging = await startLocalMessaging();
  // A client configured only from `env`, the way a handler would build one.
  sns = new SNSClient({ endpoint: messaging.env.SNS_ENDPOINT, region: messaging.env.AWS_REGION });
});

afterAll(async () => {
  sns?.destroy();
  await messaging?.stop();
});

function entry(id: string, tenantId: string, resourceType: string, action: string): PublishBatchRequestEntry {
  return {
    Id: id,
    Message: JSON.stringify({ id, tenantId, resourceType, action }),
    MessageAttributes: {
      tenantId: { DataType: 'String', StringValue: tenantId },
      resourceType: { DataType: 'String', StringValue: resourceType },
      action: { DataType: 'String', StringValue: action },
    },
  };
}

const ENTRIES = [
  entry('e1', 't1', 'Patient', 'create'),
  entry('e2', 't2', 'Patient', 'delete'),
  entry('e3', 't1', 'Observation', 'delete'),
  entry('e4', 't2', 'Observation', 'update'),
];

function ids(events: ReceivedEvent[]): string[] {
  return events.map((e) => (JSON.parse(e.message) as { id: string }).id).sort();
}

describe('startLocalMessaging', () => {
  it('creates both event topics and hands the handlers their endpoint and ARNs', async () => {
    expect(messaging.changeTopicArn).toMatch(new RegExp(`^arn:aws:sns:[a-z0-9-]+:\\d{12}:${EVENT_TOPICS.changes}$`));
    expect(messaging.auditTopicArn).toMatch(new RegExp(`:${EVENT_TOPICS.audit}$`));
    expect(messaging.env).toMatchObject({
      SNS_ENDPOINT: messaging.endpoint,
      FHIR_CHANGE_TOPIC_ARN: messaging.changeTopicArn,
      FHIR_AUDIT_TOPIC_ARN: messaging.auditTopicArn,
    });
    const { Topics = [] } = await sns.send(new ListTopicsCommand({}));
    expect(Topics.map((t) => t.TopicArn).sort()).toEqual([messaging.auditTopicArn, messaging.changeTopicArn].sort());
  });
});

describe('subscribeQueue', () => {
  it('delivers a PublishBatch only to the subscriptions whose filter policy matches, attributes intact', async () => {
    const tenant1 = await subscribeQueue(messaging, messaging.changeTopicArn, { filterPolicy: { tenantId: ['t1'] } });
    const deletes = await subscribeQueue(messaging, messaging.changeTopicArn, { filterPolicy: { action: ['delete'] } });
    const t2Observations = await subscribeQueue(messaging, messaging.changeTopicArn, {
      filterPolicy: { tenantId: ['t2'], resourceType: ['Observation'] },
    });
    const everything = await subscribeQueue(messaging, messaging.changeTopicArn);
    const audit = await subscribeQueue(messaging, messaging.auditTopicArn);

    const result = await sns.send(new PublishBatchCommand({ TopicArn: messaging.changeTopicArn, PublishBatchRequestEntries: ENTRIES }));
    expect(result.Failed ?? []).toEqual([]);
    expect(result.Successful?.map((s) => s.Id).sort()).toEqual(['e1', 'e2', 'e3', 'e4']);

    const t1Events = await tenant1.receive();
    expect(ids(t1Events)).toEqual(['e1', 'e3']);
    const e1 = t1Events.find((e) => e.message.includes('"e1"'));
    expect(e1?.attributes).toEqual({ tenantId: 't1', resourceType: 'Patient', action: 'create' });
    // Envelope delivery (the default) carries SNS's message id and the topic.
    expect(e1?.topicArn).toBe(messaging.changeTopicArn);
    expect(result.Successful?.find((s) => s.Id === 'e1')?.MessageId).toBe(e1?.snsMessageId);

    expect(ids(await deletes.receive())).toEqual(['e2', 'e3']);
    // Several keys in one policy: all must match (AND).
    expect(ids(await t2Observations.receive())).toEqual(['e4']);
    expect(ids(await everything.receive())).toEqual(['e1', 'e2', 'e3', 'e4']);
    // Topics are separate: nothing published to changes reaches the audit topic's subscribers.
    expect(await audit.receive({ waitMs: 200 })).toEqual([]);
    // receive() deleted what it returned.
    expect(await tenant1.receive({ waitMs: 200 })).toEqual([]);
  });

  it('drops a message that lacks the filtered attribute, as SNS does', async () => {
    const tenant1 = await subscribeQueue(messaging, messaging.auditTopicArn, { filterPolicy: { tenantId: ['t1'] } });
    await sns.send(new PublishCommand({ TopicArn: messaging.auditTopicArn, Message: 'no attributes' }));
    await sns.send(
      new PublishCommand({
        TopicArn: messaging.auditTopicArn,
        Message: 'tenant t1',
        MessageAttributes: { tenantId: { DataType: 'String', StringValue: 't1' } },
      }),
    );
    expect((await tenant1.receive()).map((e) => e.message)).toEqual(['tenant t1']);
  });

  it('with raw delivery, gives the published message as the SQS body and the attributes as SQS message attributes', async () => {
    const raw = await subscribeQueue(messaging, messaging.changeTopicArn, { filterPolicy: { tenantId: ['t2'] }, rawMessageDelivery: true });
    await sns.send(new PublishBatchCommand({ TopicArn: messaging.changeTopicArn, PublishBatchRequestEntries: ENTRIES }));
    const events = await raw.receive();
    expect(ids(events)).toEqual(['e2', 'e4']);
    const e2 = events.find((e) => e.message.includes('"e2"'));
    expect(e2?.sqsMessage.Body).toBe(ENTRIES[1]?.Message);
    expect(e2?.sqsMessage.MessageAttributes?.action).toMatchObject({ DataType: 'String', StringValue: 'delete' });
    expect(e2?.attributes).toEqual({ tenantId: 't2', resourceType: 'Patient', action: 'delete' });
    expect(e2?.snsMessageId).toBeUndefined();
  });

  it('waits up to waitMs for a first message and then returns at most max', async () => {
    const queue = await subscribeQueue(messaging, messaging.changeTopicArn, { filterPolicy: { tenantId: ['late'] } });
    const started = Date.now();
    const pending = queue.receive({ waitMs: 5_000, max: 1 });
    setTimeout(() => {
      void sns.send(
        new PublishBatchCommand({
          TopicArn: messaging.changeTopicArn,
          PublishBatchRequestEntries: [entry('l1', 'late', 'Patient', 'create'), entry('l2', 'late', 'Patient', 'update')],
        }),
      );
    }, 100);
    const first = await pending;
    expect(first).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await queue.receive({ waitMs: 0 })).toHaveLength(1);
  });
});

describe('stop', () => {
  it('stops serving', async () => {
    const other = await startLocalMessaging();
    const client = new SNSClient({ endpoint: other.endpoint, region: other.region, maxAttempts: 1 });
    try {
      await other.stop();
      await expect(client.send(new ListTopicsCommand({}))).rejects.toThrow();
    } finally {
      client.destroy();
    }
  });
});
