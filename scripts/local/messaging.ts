/**
 * Local SNS and SQS: the `fauxqs` emulator, in this process, spoken to with the same AWS SDK
 * clients (`@aws-sdk/client-sns`, `@aws-sdk/client-sqs`) the handlers use on AWS. It creates the
 * two event topics; `subscribeQueue` gives a test or a developer a queue that receives what the
 * stream processor publishes, filtered by an SNS filter policy as a real subscriber would be.
 *
 * fauxqs enforces filter policies (message-attribute and message-body scope), supports
 * PublishBatch with per-entry message attributes and raw message delivery; it does not check
 * credentials, IAM or queue policies (so no SQS access policy is needed for a subscription here,
 * unlike on AWS).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localCredentialsEnv } from './credentials.js';

/** The names of the topics the stream processor publishes to (one per kind of event). */
export const EVENT_TOPICS = { changes: 'fhir-changes', audit: 'fhir-audit' } as const;

/** How often `receive` polls while waiting (fauxqs fans out synchronously, so this is short). */
const POLL_INTERVAL_MS = 20;
/** SQS's own limit per ReceiveMessage / DeleteMessageBatch call. */
const SQS_BATCH_LIMIT = 10;

export interface LocalMessaging {
  /** The emulator's URL, for `endpoint` on an SNS or SQS client. */
  readonly endpoint: string;
  /** The region the topics live in (fauxqs takes it from the request signature). */
  readonly region: string;
  readonly changeTopicArn: string;
  readonly auditTopicArn: string;
  /**
   * What the handlers read: `SNS_ENDPOINT`, `FHIR_CHANGE_TOPIC_ARN`, `FHIR_AUDIT_TOPIC_ARN`, and
   * `AWS_REGION` plus dummy credentials unless the environment already has them.
   */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export interface SubscribeOptions {
  /** An SNS filter policy on message attributes, e.g. `{ tenantId: ['t1'] }`. */
  readonly filterPolicy?: Record<string, unknown>;
  /** SNS's `RawMessageDelivery`; false (SNS's default) delivers the JSON notification envelope. */
  readonly rawMessageDelivery?: boolean;
}

/**
 * One message as a subscriber sees it, the same whichever delivery mode the subscription uses:
 * the published `Message` and its String/Number message attributes. With envelope delivery they
 * come from the SNS notification JSON (its `MessageAttributes`, `{ Type, Value }` each); with raw
 * delivery from the SQS message body and SQS message attributes.
 */
export interface ReceivedEvent {
  /** The `Message` the publisher sent, unchanged. */
  readonly message: string;
  /** Message attributes by name, values as strings (Binary attributes are left out). */
  readonly attributes: Record<string, string>;
  /** SNS's message id (envelope delivery only; raw delivery does not carry it). */
  readonly snsMessageId?: string;
  /** The topic it was published to (envelope delivery only). */
  readonly topicArn?: string;
  /** The SQS message as received, for anything else. */
  readonly sqsMessage: Message;
}

export interface ReceiveOptions {
  /** How long to wait for the first message (SQS long-poll semantics). Default 1,000 ms. */
  readonly waitMs?: number;
  /** At most this many messages. Default 100. */
  readonly max?: number;
}

export interface LocalSubscriber {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly subscriptionArn: string;
  /**
   * Waits up to `waitMs` for a first message, then takes everything already delivered (up to
   * `max`) without waiting further, and deletes what it returns from the queue.
   */
  receive(options?: ReceiveOptions): Promise<ReceivedEvent[]>;
}

/** Clients made for a messaging instance, destroyed by its `stop()`. */
const clientsOf = new WeakMap<LocalMessaging, Set<{ destroy(): void }>>();

export async function startLocalMessaging(options: { port?: number } = {}): Promise<LocalMessaging> {
  const region = process.env.AWS_REGION || LOCAL_REGION;
  // Port 0: the OS picks a free port as the server binds it, so there is no window for a race.
  // Options are explicit so FAUXQS_* variables in the environment cannot change the set-up.
  const server = await startFauxqs({ port: options.port ?? 0, logger: false, defaultRegion: region });
  // fauxqs binds 0.0.0.0; clients in this process use loopback.
  const endpoint = `http://127.0.0.1:${server.port}`;
  const clients = new Set<{ destroy(): void }>();
  const sns = new SNSClient({ endpoint, region, credentials: LOCAL_CREDENTIALS });
  clients.add(sns);
  const stop = async () => {
    for (const client of clients) {
      client.destroy();
    }
    clients.clear();
    await server.stop();
  };
  try {
    const changeTopicArn = await createTopic(sns, EVENT_TOPICS.changes);
    const auditTopicArn = await createTopic(sns, EVENT_TOPICS.audit);
    const messaging: LocalMessaging = {
      endpoint,
      region,
      changeTopicArn,
      auditTopicArn,
      env: {
        AWS_REGION: region,
        ...localCredentialsEnv(),
        SNS_ENDPOINT: endpoint,
        FHIR_CHANGE_TOPIC_ARN: changeTopicArn,
        FHIR_AUDIT_TOPIC_ARN: auditTopicArn,
      },
      stop,
    };
    clientsOf.set(messaging, clients);
    return messaging;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function createTopic(sns: SNSClient, name: string): Promise<string> {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  if (!TopicArn) {
    throw new Error(`CreateTopic ${name} returned no TopicArn`);
  }
  return TopicArn;
}

/**
 * Creates a new SQS queue and subscribes it to `topicArn`, as an event consumer would be set up on
 * AWS (minus the queue policy, which fauxqs does not need).
 */
export async function subscribeQueue(
  messaging: LocalMessaging,
  topicArn: string,
  options: SubscribeOptions = {},
): Promise<LocalSubscriber> {
  const clients = clientsOf.get(messaging);
  if (!clients) {
    throw new Error('subscribeQueue needs a LocalMessaging from startLocalMessaging');
  }
  const config = { endpoint: messaging.endpoint, region: messaging.region, credentials: LOCAL_CREDENTIALS };
  const sqs = new SQSClient(config);
  const sns = new SNSClient(config);
  clients.add(sqs);
  clients.add(sns);

  const topicName = topicArn.slice(topicArn.lastIndexOf(':') + 1);
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${topicName}-sub-${randomUUID().slice(0, 8)}` }));
  if (!queueUrl) {
    throw new Error('CreateQueue returned no QueueUrl');
  }
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = Attributes?.QueueArn;
  if (!queueArn) {
    throw new Error(`GetQueueAttributes returned no QueueArn for ${queueUrl}`);
  }
  const raw = options.rawMessageDelivery ?? false;
  const attributes: Record<string, string> = {};
  if (options.filterPolicy) {
    attributes.FilterPolicy = JSON.stringify(options.filterPolicy);
    attributes.FilterPolicyScope = 'MessageAttributes';
  }
  if (raw) {
    attributes.RawMessageDelivery = 'true';
  }
  const { SubscriptionArn: subscriptionArn } = await sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn, Attributes: attributes, ReturnSubscriptionArn: true }),
  );
  if (!subscriptionArn) {
    throw new Error(`Subscribe to ${topicArn} returned no SubscriptionArn`);
  }

  return {
    queueUrl,
    queueArn,
    subscriptionArn,
    async receive({ waitMs = 1000, max = 100 } = {}) {
      const received: ReceivedEvent[] = [];
      const deadline = Date.now() + waitMs;
      while (received.length < max) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(SQS_BATCH_LIMIT, max - received.length),
            MessageAttributeNames: ['All'],
            WaitTimeSeconds: 0,
          }),
        );
        if (Messages.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
          received.push(...Messages.map((m) => toEvent(m, raw)));
          continue;
        }
        // Nothing (more) delivered: done once something was received or the wait is over.
        if (received.length > 0 || Date.now() >= deadline) {
          break;
        }
        await sleep(Math.min(POLL_INTERVAL_MS, Math.max(0, deadline - Date.now())));
      }
      return received;
    },
  };
}

interface SnsEnvelope {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

function toEvent(sqsMessage: Message, raw: boolean): ReceivedEvent {
  const body = sqsMessage.Body ?? '';
  if (raw) {
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(sqsMessage.MessageAttributes ?? {})) {
      if (value.StringValue !== undefined) {
        attributes[name] = value.StringValue;
      }
    }
    return { message: body, attributes, sqsMessage };
  }
  const envelope = JSON.parse(body) as SnsEnvelope;
  if (envelope.Type !== 'Notification') {
    throw new Error(`Expected an SNS Notification envelope, got ${body.slice(0, 200)}`);
  }
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(envelope.MessageAttributes ?? {})) {
    if (!value.Type.startsWith('Binary')) {
      attributes[name] = value.Value;
    }
  }
  return { message: envelope.Message, attributes, snsMessageId: envelope.MessageId, topicArn: envelope.TopicArn, sqsMessage };
}
