/**
 * The one request path. Every FHIR interaction — an HTTP request from a Lambda handler or the
 * local server, or an entry of a batch or transaction Bundle — is matched against the route
 * table (core/fhir/routes.ts), answered by its interaction function (interactions.ts), and
 * audited here, so a cross-cutting rule (audit, engine choice, and access policy) holds for
 * both transports alike.
 *
 * Reads of patient data (read, vread, search, history — also inside Bundles) and every refusal
 * (401, 403) are audited before the response leaves: they change nothing in the table, so the
 * stream cannot audit them. The
 * AuditEvents of one request are stored together at its end; if they cannot be stored the
 * caller gets 503 and not the data: an access that leaves no trace must not happen.
 *
 * The audit write follows the interaction instead of running beside it (which would save a
 * read one round trip of latency, not CPU) because its content is the outcome: the status and
 * the version returned. A record written beforehand would be a guess, and a wrong guess (a 404,
 * a 410, a 5xx) could be corrected in the table by rewriting the same id, but not on the audit
 * topic: the stream publishes an audit record when it is inserted, and subscribers de-duplicate
 * by its id, so a correction would never reach them.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Identity } from '../auth/identity.js';
import { auditEvent, newAuditId } from '../audit/audit-event.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { BulkExports } from '../export/exports.js';
import type { AnalyticsRequests } from '../analytics/requests.js';
import type { RuntimeConfig } from '../config.js';
import { FhirError } from '../errors.js';
import type { FhirRequest } from '../fhir/request.js';
import { errorResponse, type FhirResponse } from '../fhir/response.js';
import { type Interaction, matchRoute, type RouteMatch } from '../fhir/routes.js';
import type { SearchEngine } from '../search/engine.js';
import type { ResourceRepository } from '../storage/repository.js';
import { accessesOf, authorizeAll } from './access.js';
import { AUDITED, AUDITED_WHEN_REFUSED, capabilities, type Exchange, type InteractionFunction, type InteractionTable } from './interactions.js';

/** Who is calling: the transport's verified identity, and where from (for the audit record). */
export interface Caller {
  readonly identity: Identity;
  readonly sourceAddress?: string;
}

export interface RouterComponents {
  readonly config: RuntimeConfig;
  readonly repository: ResourceRepository;
  /** The table's strongly consistent engine: conditional operations and transaction criteria. */
  readonly tableSearch: SearchEngine;
  /** The engine searches answer with. */
  readonly search: SearchEngine;
  readonly auditLog: AuditLog;
  readonly exports: BulkExports;
  readonly analytics: AnalyticsRequests;
}

export interface RouterOptions {
  /**
   * The interactions this entry point serves (a per-operation Lambda function's share of the
   * route table); any other is refused with 404 before anything runs. Bundle entries are not
   * restricted by it: a Bundle's entries are the Bundle's own interaction.
   */
  readonly serves: ReadonlySet<Interaction>;
  /**
   * The functions that answer them, by name: the served ones, and for the Bundle function every
   * one (`ALL_INTERACTIONS`), since an entry may be any. A per-operation function brings only
   * its own, so its bundle leaves the others out.
   */
  readonly interactions: InteractionTable;
  /** Told of each error that is not a FhirError (a bug or an outage), which the caller sees only as a 500. */
  readonly onUnexpectedError?: (error: unknown, request: FhirRequest) => void;
}

export class FhirRouter {
  constructor(
    private readonly components: RouterComponents,
    private readonly options: RouterOptions,
  ) {}

  /**
   * Answers one request. `caller` is resolved only for interactions on a tenant's data (an
   * unauthenticated `GET /metadata` answers), so it may throw 401.
   */
  async handle(request: FhirRequest, caller: () => Caller): Promise<FhirResponse> {
    let match: RouteMatch;
    try {
      match = matchRoute(request.method, request.path);
      if (!this.options.serves.has(match.route.interaction)) {
        throw FhirError.notFound(`${request.method} /${request.path.slice(0, 100)} is not served here`);
      }
      if (request.format === 'html' && !match.route.html) {
        throw FhirError.notAcceptable(`_format=html is not served for ${request.method} /${request.path.slice(0, 100)}: it answers in application/fhir+json only`);
      }
      if (match.route.interaction === 'capabilities') {
        return capabilities(request);
      }
    } catch (error) {
      return this.failed(error, request);
    }
    let who: Caller;
    try {
      who = caller();
    } catch (error) {
      return this.failed(error, request);
    }
    const audits: AuditEvent[] = [];
    const response = await this.dispatch(request, match, who, audits);
    if (audits.length > 0) {
      try {
        await this.components.auditLog.recordMany(audits.map((event) => ({ tenant: who.identity.tenant, event })));
      } catch (error) {
        this.options.onUnexpectedError?.(error, request);
        return errorResponse(FhirError.of(503, 'transient', 'The access could not be audited; retry later'));
      }
    }
    return response;
  }

  private async dispatch(request: FhirRequest, match: RouteMatch, caller: Caller, audits: AuditEvent[]): Promise<FhirResponse> {
    const { interaction } = match.route;
    const accessed: string[] = [];
    let response: FhirResponse;
    try {
      const confinedTo = authorizeAll(caller.identity, accessesOf(request, match));
      const exchange: Exchange = {
        context: {
          repository: this.components.repository,
          searchEngine: this.components.tableSearch,
          tenant: caller.identity.tenant,
          principal: caller.identity.subject,
          confinedTo,
        },
        identity: caller.identity,
        config: this.components.config,
        search: this.components.search,
        accessed,
        dispatch: (entry) => this.dispatchEntry(entry, caller, audits),
        authorize: (entry) => authorizeAll(caller.identity, accessesOf(entry, matchRoute(entry.method, entry.path))),
        onUnexpectedError: (error) => this.options.onUnexpectedError?.(error, request),
        exports: this.components.exports,
        analytics: this.components.analytics,
      };
      response = interaction === 'capabilities' ? capabilities(request) : await this.served(interaction, request)(request, match.params, exchange);
    } catch (error) {
      response = this.failed(error, request);
    }
    const refused = response.status === 401 || response.status === 403;
    const audited = AUDITED[interaction] ?? (refused ? AUDITED_WHEN_REFUSED[interaction as keyof typeof AUDITED_WHEN_REFUSED] : undefined);
    if (audited) {
      // An export's kick-off is audited with the parameters it exports by.
      const query = audited.startsWith('search') || audited.startsWith('history') || interaction.startsWith('export-') ? requestTarget(request) : undefined;
      audits.push(
        auditEvent({
          id: newAuditId(),
          tenant: caller.identity.tenant,
          interaction: audited,
          recorded: new Date().toISOString(),
          status: response.status,
          principal: caller.identity.subject,
          entities: accessed.length > 0 || query ? accessed : [request.path],
          query,
          sourceAddress: caller.sourceAddress,
        }),
      );
    }
    return response;
  }

  /** A Bundle entry: matched, answered and audited like a request of its own. */
  private async dispatchEntry(request: FhirRequest, caller: Caller, audits: AuditEvent[]): Promise<FhirResponse> {
    let match: RouteMatch;
    try {
      match = matchRoute(request.method, request.path);
    } catch (error) {
      return this.failed(error, request);
    }
    return this.dispatch(request, match, caller, audits);
  }

  /** The function of an interaction this router serves; a Bundle entry naming another is 404. */
  private served(interaction: Exclude<Interaction, 'capabilities'>, request: FhirRequest): InteractionFunction {
    const answer = this.options.interactions[interaction];
    if (!answer) {
      throw FhirError.notFound(`${request.method} /${request.path.slice(0, 100)} is not served here`);
    }
    return answer;
  }

  private failed(error: unknown, request: FhirRequest): FhirResponse {
    if (!(error instanceof FhirError)) {
      this.options.onUnexpectedError?.(error, request);
    }
    return errorResponse(error);
  }
}

/** The path and query string as requested, e.g. `/Observation?code=1234-5`. */
function requestTarget(request: FhirRequest): string {
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(request.query)) {
    for (const value of values) {
      query.append(name, value);
    }
  }
  const text = query.toString();
  return text ? `/${request.path}?${text}` : `/${request.path}`;
}
