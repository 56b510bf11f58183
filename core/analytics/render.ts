/**
 * The report as a self-contained HTML page: every chart a Vega-Lite specification compiled and
 * rendered to SVG on the server (vega's headless View, no canvas), inlined into the page with
 * the figures' tables. The page loads nothing and runs no script, so it opens anywhere, from S3
 * or a mail attachment, and shows exactly what the JSON report says.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { AnalyticsReport, CodeCount, Figure } from './report.js';

type Row = Record<string, string | number>;

/** A single-view Vega-Lite specification without its data (Vega-Lite's own types check it once the rows are added). */
interface ChartSpec {
  readonly mark: 'bar';
  readonly width: number;
  readonly encoding: Record<string, unknown>;
}

interface Chart {
  readonly title: string;
  readonly figure: Figure<unknown>;
  readonly rows: readonly Row[];
  readonly spec: ChartSpec;
  /** Shown instead of an empty chart. */
  readonly empty: string;
}

const WIDTH = 640;

function codeLabel(code: CodeCount): string {
  return `${code.display ?? code.code} (${code.code})`;
}

function charts(report: AnalyticsReport): Chart[] {
  const codesChart = (title: string, figure: Figure<readonly CodeCount[]>): Chart => ({
    title,
    figure,
    rows: figure.data.map((code) => ({ label: codeLabel(code), count: code.count })),
    spec: {
      mark: 'bar',
      width: WIDTH - 300,
      encoding: {
        y: { field: 'label', type: 'nominal', sort: '-x', title: null, axis: { labelLimit: 300 } },
        x: { field: 'count', type: 'quantitative', title: 'resources' },
      },
    },
    empty: 'No coded resources.',
  });
  return [
    {
      title: 'Resources by type',
      figure: report.resourcesByType,
      rows: report.resourcesByType.data.map(({ resourceType, count }) => ({ resourceType, count })),
      spec: { mark: 'bar', width: WIDTH - 200, encoding: { y: { field: 'resourceType', type: 'nominal', sort: '-x', title: null }, x: { field: 'count', type: 'quantitative', title: 'resources' } } },
      empty: 'The tenant holds no resources.',
    },
    {
      title: 'Growth: resources by the month they were last updated',
      figure: report.growth,
      rows: report.growth.data.perMonth.map(({ resourceType, period, count }) => ({ resourceType, period, count })),
      spec: {
        mark: 'bar',
        width: WIDTH,
        encoding: {
          x: { field: 'period', type: 'ordinal', title: 'month (UTC)' },
          y: { field: 'count', type: 'quantitative', stack: 'zero', title: 'resources' },
          color: { field: 'resourceType', type: 'nominal', title: 'type' },
        },
      },
      empty: 'No resources.',
    },
    {
      title: 'Patients by age band and gender',
      figure: report.patientsByAgeGender,
      rows: report.patientsByAgeGender.data.map(({ ageBand, gender, count }) => ({ ageBand, gender, count })),
      spec: {
        mark: 'bar',
        width: WIDTH - 200,
        encoding: {
          x: { field: 'ageBand', type: 'ordinal', title: 'age (years)', sort: ['0-17', '18-34', '35-49', '50-64', '65-79', '80+', 'unknown'] },
          xOffset: { field: 'gender' },
          y: { field: 'count', type: 'quantitative', title: 'patients' },
          color: { field: 'gender', type: 'nominal' },
        },
      },
      empty: 'No patients.',
    },
    {
      title: 'Encounters per month by class',
      figure: report.encountersByMonth,
      rows: report.encountersByMonth.data.map((row) => ({ month: row.month, class: row.class, count: row.count })),
      spec: {
        mark: 'bar',
        width: WIDTH,
        encoding: {
          x: { field: 'month', type: 'temporal', timeUnit: 'utcyearmonth', title: 'month of Encounter.period.start (UTC)' },
          y: { field: 'count', type: 'quantitative', stack: 'zero', title: 'encounters' },
          color: { field: 'class', type: 'nominal' },
        },
      },
      empty: 'No encounters.',
    },
    codesChart('Top conditions', report.topConditions),
    codesChart('Top observation codes', report.topObservationCodes),
    {
      title: `API requests per day (last ${Math.round((Date.parse(report.apiActivity.data.to) - Date.parse(report.apiActivity.data.from)) / 86_400_000)} days)`,
      figure: report.apiActivity,
      rows: report.apiActivity.data.perDay.map(({ day, interaction, outcome, count }) => ({ day, interaction: outcome === '0' ? interaction : `${interaction} (failed)`, count })),
      spec: {
        mark: 'bar',
        width: WIDTH,
        encoding: {
          x: { field: 'day', type: 'ordinal', title: 'day (UTC)' },
          y: { field: 'count', type: 'quantitative', stack: 'zero', title: 'requests' },
          color: { field: 'interaction', type: 'nominal' },
        },
      },
      empty: 'No audited requests in this window.',
    },
  ];
}

/** One chart's SVG: Vega-Lite compiled to Vega, rendered headless. */
export async function chartSvg(spec: ChartSpec, rows: readonly Row[]): Promise<string> {
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', data: { values: rows }, ...spec } as unknown as TopLevelSpec;
  const view = new View(parse(compile(full).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escape(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

function stamp(figure: Figure<unknown>): string {
  return `<p class="asof">as of ${escape(figure.asOf)} · from ${escape(figure.source)}</p>`;
}

function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  if (rows.length === 0) {
    return '<p class="none">None.</p>';
  }
  const head = headers.map((header) => `<th>${escape(header)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function qualitySection(report: AnalyticsReport): string {
  const quality = report.dataQuality.data;
  return [
    '<section><h2>Data quality</h2>',
    stamp(report.dataQuality),
    `<p>${quality.resourcesChecked} resources checked; ${quality.invalidResources.validated} validated, ${quality.invalidResources.reused} of them unchanged since an earlier run, whose verdict holds.</p>`,
    `<h3>Unresolved references: ${quality.unresolvedReferences.count}</h3>`,
    table(['resource', 'element', 'reference'], quality.unresolvedReferences.samples.map((sample) => [sample.resource, sample.path, sample.reference])),
    `<h3>Resources failing current validation: ${quality.invalidResources.count}</h3>`,
    quality.invalidResources.validated < quality.resourcesChecked ? `<p>Not every resource was validated: the run's time ran short; the next run carries on.</p>` : '',
    table(['type', 'resources'], quality.invalidResources.byType.map((type) => [type.resourceType, type.count])),
    table(['resource', 'first issue'], quality.invalidResources.samples.map((sample) => [sample.resource, sample.issue])),
    `<h3>Patients without an identifier: ${quality.patientsWithoutIdentifier.count}</h3>`,
    table(['patient'], quality.patientsWithoutIdentifier.samples.map((sample) => [sample])),
    '</section>',
  ].join('\n');
}

function activityTables(report: AnalyticsReport): string {
  const activity = report.apiActivity.data;
  return [
    `<p>${activity.events} audited requests from ${escape(activity.from)} to ${escape(activity.to)}.</p>`,
    '<h3>Top users and clients (token subject)</h3>',
    table(['subject', 'requests'], activity.topUsers.map((user) => [user.who, user.count])),
    '<h3>Top source addresses</h3>',
    table(['address', 'requests'], activity.topClients.map((client) => [client.address, client.count])),
  ].join('\n');
}

function healthSection(report: AnalyticsReport): string {
  const health = report.indexHealth.data;
  const lines = [
    '<section><h2>Index health</h2>',
    stamp(report.indexHealth),
    health.notIndexed
      ? `<h3>Resources in the table but not in the index (by type)</h3>${table(['type', 'missing'], health.notIndexed.map((type) => [type.resourceType, type.count]))}`
      : '<p>No search index is configured: searches run on DynamoDB.</p>',
    health.incompletelyIndexed
      ? `<h3>Indexed in a degraded form: ${health.incompletelyIndexed.count}</h3>${table(['resource', 'issues'], health.incompletelyIndexed.samples.map((sample) => [sample.resource, sample.issues.join('; ')]))}`
      : '',
    `<p>Stream dead letters: ${health.deadLetters === undefined ? 'no dead-letter queue configured' : health.deadLetters}</p>`,
    '</section>',
  ];
  return lines.join('\n');
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:980px}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
.asof{color:#666;font-size:.85rem;margin-top:-.5rem}.none{color:#666}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;font-size:.9rem}
figure{margin:0}`;

/** The whole page. */
export async function renderHtml(report: AnalyticsReport): Promise<string> {
  const sections: string[] = [];
  for (const chart of charts(report)) {
    const body = chart.rows.length === 0 ? `<p class="none">${escape(chart.empty)}</p>` : `<figure class="chart">${await chartSvg(chart.spec, chart.rows)}</figure>`;
    sections.push(`<section><h2>${escape(chart.title)}</h2>\n${stamp(chart.figure)}\n${body}${chart.figure === report.apiActivity ? activityTables(report) : ''}</section>`);
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>FHIR analytics: ${escape(report.tenant)} as of ${escape(report.asOf)}</title>
<style>${STYLE}</style></head>
<body>
<h1>FHIR analytics report: tenant ${escape(report.tenant)}</h1>
<p>As of ${escape(report.asOf)} (run ${escape(report.runId)}, completed ${escape(report.completedAt)}); resource figures aggregated by ${escape(report.engine === 'opensearch' ? 'OpenSearch' : 'DynamoDB')}. Report schema ${escape(report.schema)} v${report.schemaVersion}.</p>
${sections.join('\n')}
${qualitySection(report)}
${healthSection(report)}
</body></html>
`;
}
