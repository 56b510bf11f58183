/**
 * The one error type of the product. Core throws `FhirError`s; the handler layer turns any
 * thrown value into an HTTP status and an OperationOutcome through `toOperationOutcome`.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

type IssueCode = OperationOutcomeIssue['code'];

export class FhirError extends Error {
  readonly status: number;
  readonly issues: OperationOutcomeIssue[];

  constructor(status: number, issues: OperationOutcomeIssue[]) {
    super(issues.map((issue) => issue.diagnostics ?? issue.details?.text ?? issue.code).join('; '));
    this.name = 'FhirError';
    this.status = status;
    this.issues = issues;
  }

  get outcome(): OperationOutcome {
    return { resourceType: 'OperationOutcome', issue: this.issues };
  }

  static of(status: number, code: IssueCode, text: string, expression?: string): FhirError {
    return new FhirError(status, [issue(code, text, expression)]);
  }

  static badRequest(text: string, expression?: string): FhirError {
    return FhirError.of(400, 'invalid', text, expression);
  }

  static unauthorized(text: string): FhirError {
    return FhirError.of(401, 'login', text);
  }

  static forbidden(text: string): FhirError {
    return FhirError.of(403, 'forbidden', text);
  }

  static notFound(text: string): FhirError {
    return FhirError.of(404, 'not-found', text);
  }

  static methodNotAllowed(text: string): FhirError {
    return FhirError.of(405, 'not-supported', text);
  }

  static notAcceptable(text: string): FhirError {
    return FhirError.of(406, 'not-supported', text);
  }

  static conflict(text: string): FhirError {
    return FhirError.of(409, 'conflict', text);
  }

  static gone(text: string): FhirError {
    return FhirError.of(410, 'deleted', text);
  }

  static preconditionFailed(text: string): FhirError {
    return FhirError.of(412, 'conflict', text);
  }

  static payloadTooLarge(text: string): FhirError {
    return FhirError.of(413, 'too-costly', text);
  }

  static unsupportedMediaType(text: string): FhirError {
    return FhirError.of(415, 'not-supported', text);
  }

  static unprocessable(text: string, expression?: string): FhirError {
    return FhirError.of(422, 'processing', text, expression);
  }

  /** A validation failure: every issue carries its own `expression`. */
  static invalidResource(issues: OperationOutcomeIssue[]): FhirError {
    return new FhirError(400, issues);
  }
}

export function issue(code: IssueCode, text: string, expression?: string, severity: OperationOutcomeIssue['severity'] = 'error'): OperationOutcomeIssue {
  return {
    severity,
    code,
    diagnostics: text,
    ...(expression ? { expression: [expression] } : {}),
  };
}

export function informationOutcome(text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [issue('informational', text, undefined, 'information')] };
}

/**
 * Maps anything thrown to a status and an OperationOutcome. Unknown errors are 500 with a
 * generic text: their message may hold internals and is logged, not returned.
 */
export function toOperationOutcome(error: unknown): { status: number; outcome: OperationOutcome } {
  if (error instanceof FhirError) {
    return { status: error.status, outcome: error.outcome };
  }
  return {
    status: 500,
    outcome: { resourceType: 'OperationOutcome', issue: [issue('exception', 'Internal server error')] },
  };
}
