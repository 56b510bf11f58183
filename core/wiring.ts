/**
 * The one place the product's parts are built from the RuntimeConfig: DynamoDB client,
 * repository, the two search engines, audit log, event publisher and stream processor. Lambda
 * handlers, the local runtime, scripts and benches all build them here, once per process, each
 * part only when first used.
 *
 * The OpenSearch, SNS, S3 and SQS clients are passed in, not imported: a handler that never
 * searches, publishes or exports (read, create, …) then does not carry them in its bundle, which
 * keeps its cold start small.
 */
import type { Client } from '@opensearch-project/opensearch';
import { type AnalyticsParts, AnalyticsRequests } from './analytics/requests.js';
import { AuditLog } from './audit/audit-log.js';
import type { ExportConfig, OpenSearchConfig, RuntimeConfig } from './config.js';
import type { ExportFiles, ExportQueue } from './export/drivers.js';
import { BulkExports } from './export/exports.js';
import { ExportJobs } from './export/jobs.js';
import { ExportWorker } from './export/worker.js';
import type { EventPublisher } from './events/publisher.js';
import { DynamoSearchEngine } from './search/dynamodb/engine.js';
import type { SearchEngine } from './search/engine.js';
import { OpenSearchEngine } from './search/opensearch/engine.js';
import { ResourceIndexer } from './search/opensearch/indexer.js';
import { RoutedSearchEngine } from './search/router.js';
import { createDocumentClient } from './storage/dynamo-client.js';
import { RecentChanges } from './storage/recent-changes.js';
import { ResourceRepository } from './storage/repository.js';
import { TenantRegistry } from './storage/tenant-registry.js';
import { StreamProcessor } from './stream/processor.js';

/** The clients a process brings along; each absent one leaves its part unbuilt. */
export interface Drivers {
  readonly openSearchClient?: (config: OpenSearchConfig, region: string) => Client;
  readonly eventPublisher?: (config: RuntimeConfig) => EventPublisher;
  /** Bulk export files (S3): the export status/cancel function and the export worker. */
  readonly exportFiles?: (config: ExportConfig, region: string) => ExportFiles;
  /** Bulk export work queue (SQS): the functions `$export` kick-offs reach, and the export worker. */
  readonly exportQueue?: (config: ExportConfig, region: string) => ExportQueue;
  /** Analytics reports (S3) and the start of a run (Lambda): the functions answering `$analytics`; undefined parts: not configured. */
  readonly analytics?: (config: RuntimeConfig) => AnalyticsParts | undefined;
}

export class Components {
  private readonly built = new Map<string, unknown>();

  constructor(
    readonly config: RuntimeConfig,
    private readonly drivers: Drivers = {},
  ) {}

  private once<T>(name: string, build: () => T): T {
    if (!this.built.has(name)) {
      this.built.set(name, build());
    }
    return this.built.get(name) as T;
  }

  get documents() {
    return this.once('documents', () => createDocumentClient(this.config));
  }

  get repository(): ResourceRepository {
    return this.once('repository', () => new ResourceRepository(this.documents, this.config.tableName));
  }

  /** The overlay of recent writes both engines merge and the stream processor clears (read-your-writes). */
  get recentChanges(): RecentChanges {
    return this.once('recentChanges', () => new RecentChanges(this.repository, { settleMs: this.config.recentChangesSettleMs }));
  }

  /** The table's strongly consistent engine: conditional operations, transaction criteria, and searches without OpenSearch. */
  get tableSearch(): SearchEngine {
    return this.once('tableSearch', () => new DynamoSearchEngine(this.repository, this.config.maxSearchScan, this.recentChanges));
  }

  /** The OpenSearch client, when OpenSearch is configured and this process brought the driver. */
  get openSearch(): Client | undefined {
    return this.once('openSearch', () => {
      const index = this.config.openSearch;
      return index && this.drivers.openSearchClient?.(index, this.config.region);
    });
  }

  /** The OpenSearch engine alone, when available. */
  get indexSearch(): SearchEngine | undefined {
    return this.once('indexSearch', () => {
      const client = this.openSearch;
      return client && this.config.openSearch ? new OpenSearchEngine(client, this.config.openSearch.index, { recentChanges: this.recentChanges }) : undefined;
    });
  }

  /** The engine searches answer with: OpenSearch behind the router when available (core/search/router.ts), else the table. */
  get search(): SearchEngine {
    return this.once('search', () => {
      const index = this.indexSearch;
      return index ? new RoutedSearchEngine(this.tableSearch, index) : this.tableSearch;
    });
  }

  get indexer(): ResourceIndexer | undefined {
    return this.once('indexer', () => {
      const client = this.openSearch;
      return client && this.config.openSearch ? new ResourceIndexer(client, this.config.openSearch.index) : undefined;
    });
  }

  get auditLog(): AuditLog {
    return this.once('auditLog', () => new AuditLog(this.documents, this.config.tableName));
  }

  /** `$analytics`: runs started, their status and the reports; 501 where the function brought no driver or none is configured. */
  get analytics(): AnalyticsRequests {
    return this.once('analytics', () => new AnalyticsRequests(this.drivers.analytics?.(this.config)));
  }

  get exportJobs(): ExportJobs {
    return this.once('exportJobs', () => new ExportJobs(this.documents, this.config.tableName));
  }

  /** `$export` kick-off, status and cancel; 501 where no export is configured. */
  get exports(): BulkExports {
    return this.once('exports', () => new BulkExports({
      repository: this.repository,
      jobs: this.exportJobs,
      config: this.config.export,
      queue: (config) => this.exportDriver('exportQueue', config),
      files: (config) => this.exportDriver('exportFiles', config),
    }));
  }

  get exportWorker(): ExportWorker {
    return this.once('exportWorker', () => {
      const config = this.config.export;
      if (!config) {
        throw new Error('The export worker needs FHIR_EXPORT_BUCKET and FHIR_EXPORT_QUEUE_URL');
      }
      return new ExportWorker({
        repository: this.repository,
        jobs: this.exportJobs,
        files: this.exportDriver('exportFiles', config),
        queue: this.exportDriver('exportQueue', config),
        config,
      });
    });
  }

  private exportDriver<K extends 'exportFiles' | 'exportQueue'>(name: K, config: ExportConfig): ReturnType<NonNullable<Drivers[K]>> {
    return this.once(name, () => {
      const driver = this.drivers[name] as ((config: ExportConfig, region: string) => ReturnType<NonNullable<Drivers[K]>>) | undefined;
      if (!driver) {
        throw new Error(`This function was built without the ${name} driver`);
      }
      return driver(config, this.config.region);
    });
  }

  /** The tenants with data (written by the stream processor, read by the analytics schedule). */
  get tenantRegistry(): TenantRegistry {
    return this.once('tenantRegistry', () => new TenantRegistry(this.repository));
  }

  get streamProcessor(): StreamProcessor {
    return this.once('streamProcessor', () => {
      const publisher = this.drivers.eventPublisher;
      if (!publisher) {
        throw new Error('The stream processor needs the eventPublisher driver');
      }
      return new StreamProcessor({
        indexer: this.indexer,
        auditLog: this.auditLog,
        publisher: publisher(this.config),
        recoverTransactions: (tenant) => this.repository.recoverTransactions(tenant),
        tenantRegistry: this.tenantRegistry,
        recentChanges: this.recentChanges,
      });
    });
  }
}
