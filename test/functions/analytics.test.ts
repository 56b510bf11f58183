/**
 * `$analytics` over HTTP on the local stack: `POST /$analytics` answers 202 with a
 * Content-Location, the run (in this process, as under `npm start`) stores a report in S3
 * (fauxqs) whose counts equal what was written, `GET /$analytics` serves it as JSON and as an HTML
 * page, a subscriber filtered by tenant gets the "report ready" event and another tenant's does
 * not, and the page opens in headless Chromium with every chart drawn and no console error.
 */
import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../scripts/local/credentials.js';
import { type LocalMessaging, type LocalSubscriber, startLocalMessaging, subscribeQueue } from '../../scripts/local/messaging.js';
import { createLocalBucket } from '../../scripts/local/storage.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.js';
import { type ApiResponse, useLocalApi } from '../support/local-api.js';

let messaging: LocalMessaging;
let mine: LocalSubscriber;
let others: LocalSubscriber;
const tenant = `an-${randomUUID().slice(0, 8)}`;
const otherTenant = `an-other-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  messaging = await startLocalMessaging();
  const bucket = await createLocalBucket(messaging, 'fhir-analytics-test');
  const sns = new SNSClient({ endpoint: messaging.endpoint, region: messaging.region, credentials: LOCAL_CREDENTIALS });
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'fhir-analytics' }));
  sns.destroy();
  Object.assign(process.env, messaging.env, bucket.env, { FHIR_ANALYTICS_BUCKET: bucket.name, FHIR_ANALYTICS_TOPIC_ARN: TopicArn! });
  mine = await subscribeQueue(messaging, TopicArn!, { filterPolicy: { tenantId: [tenant] } });
  others = await subscribeQueue(messaging, TopicArn!, { filterPolicy: { tenantId: [otherTenant] } });
});

afterAll(async () => {
  await messaging?.stop();
});

const api = useLocalApi();

async function untilComplete(location: string): Promise<ApiResponse> {
  const path = new URL(location).pathname + new URL(location).search;
  for (let attempt = 0; attempt < 600; attempt++) {
    const response = await api.request('GET', path, { tenant });
    if (response.status !== 202) {
      return response;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('The analytics run did not complete in 60 s');
}

describe('$analytics over HTTP', () => {
  let html: string;

  it('has no report before the first run', async () => {
    expect((await api.request('GET', '/$analytics', { tenant })).status).toBe(404);
  });

  it('runs asynchronously, and the report counts what was written', async () => {
    const patients = [
      { resourceType: 'Patient', gender: 'female', birthDate: '1950-01-01', identifier: [{ value: 'a' }] },
      { resourceType: 'Patient', gender: 'male', birthDate: '2001-07-15' },
    ];
    for (const body of patients) {
      expect((await api.request('POST', '/Patient', { tenant, body })).status).toBe(201);
    }
    const encounter = { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, period: { start: '2024-03-05T10:00:00Z' } };
    expect((await api.request('POST', '/Encounter', { tenant, body: encounter })).status).toBe(201);

    const started = await api.request('POST', '/$analytics', { tenant });
    expect(started.status).toBe(202);
    const location = started.headers.get('content-location')!;
    expect(location).toMatch(/\/\$analytics\?run=/);

    const done = await untilComplete(location);
    expect(done.status).toBe(200);
    expect(done.headers.get('content-type')).toMatch(/^application\/json/);
    const report = done.json;
    expect(report.tenant).toBe(tenant);
    expect(report.schemaVersion).toBe(1);
    expect(report.resourcesByType.data).toEqual([
      { resourceType: 'Encounter', count: 1 },
      { resourceType: 'Patient', count: 2 },
    ]);
    expect(report.encountersByMonth.data).toEqual([{ month: '2024-03', class: 'AMB', count: 1 }]);
    expect(report.dataQuality.data.patientsWithoutIdentifier.count).toBe(1);

    const latest = await api.request('GET', '/$analytics', { tenant });
    expect(latest.json).toEqual(report);
  });

  it('announces the report to the tenant\'s subscribers only', async () => {
    const [event] = await mine.receive({ waitMs: 2000 });
    expect(event?.attributes).toMatchObject({ tenantId: tenant, eventType: 'analytics-report-ready' });
    expect(JSON.parse(event!.message)).toMatchObject({ tenant, html: expect.stringMatching(new RegExp(`^analytics/${tenant}/`)) });
    expect(await others.receive({ waitMs: 200 })).toEqual([]);
  });

  it('serves the HTML page with _format=html, and refuses it elsewhere', async () => {
    const page = await api.request('GET', '/$analytics?_format=html', { tenant });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    html = page.text;
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script/i);
    expect((await api.request('GET', '/Patient?_format=html', { tenant })).status).toBe(406);
  });

  it('opens in headless Chromium: every chart drawn, no console error', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      page.on('pageerror', (error) => errors.push(error.message));
      await page.setContent(html, { waitUntil: 'load' });
      const charts = page.locator('figure.chart svg');
      const count = await charts.count();
      // Resources by type, growth, age × gender, encounters, API activity (no conditions or observations were written).
      expect(count).toBe(5);
      for (let i = 0; i < count; i++) {
        const chart = charts.nth(i);
        const box = await chart.boundingBox();
        expect(box?.width).toBeGreaterThan(100);
        const shot = await chart.screenshot();
        // Drawn pixels: decode the screenshot in the page and count those that are not white.
        const inked = await page.evaluate(async (png) => {
          // The page's DOM; this file is compiled without the DOM library.
          const { Image, document } = globalThis as unknown as { Image: new () => any; document: { createElement(name: 'canvas'): any } };
          const image = new Image();
          image.src = `data:image/png;base64,${png}`;
          await image.decode();
          const canvas = document.createElement('canvas');
          canvas.width = image.width;
          canvas.height = image.height;
          const context = canvas.getContext('2d')!;
          context.drawImage(image, 0, 0);
          const { data } = context.getImageData(0, 0, image.width, image.height);
          let count = 0;
          for (let p = 0; p < data.length; p += 4) {
            if (data[p]! < 200 || data[p + 1]! < 200 || data[p + 2]! < 200) count++;
          }
          return count / (image.width * image.height);
        }, shot.toString('base64'));
        expect(inked, `chart ${i} is blank`).toBeGreaterThan(0.01);
      }
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('validates again, in the next run, only the resources changed since the last', async () => {
    const male = (await api.request('GET', '/Patient?gender=male', { tenant })).json.entry[0].resource;
    expect((await api.request('PUT', `/Patient/${male.id}`, { tenant, body: { ...male, identifier: [{ value: 'b' }] } })).status).toBe(200);
    const started = await api.request('POST', '/$analytics', { tenant });
    const done = await untilComplete(started.headers.get('content-location')!);
    expect(done.json.dataQuality.data.invalidResources).toMatchObject({ validated: 3, reused: 2 });
    expect(done.json.dataQuality.data.patientsWithoutIdentifier.count).toBe(0);
  });
});
