/**
 * The data-quality pass: every live resource of the tenant checked once, as it streams by —
 * against the server's current validation (core/fhir/validation.ts, so resources stored before a
 * definitions upgrade or a stricter rule show up), for literal references whose target the tenant
 * does not hold, and Patients without an identifier value. A resource unchanged since an earlier
 * run keeps that run's verdict (verdicts.ts) instead of being validated again. Samples are the first few by
 * `Type/id`, so a report shows the same ones whichever store the pass read.
 */
import type { Resource } from '@medplum/fhirtypes';
import { validateResource } from '../fhir/validation.js';
import { isResourceType } from '../r4/definitions.js';
import { extractValues } from '../r4/extract.js';
import { referencesIn } from '../r4/references.js';
import { searchParameter } from '../r4/search-parameters.js';
import { PARAMS } from './codes.js';
import type { DataQuality, TypeCount } from './report.js';
import { ValidationVerdicts } from './verdicts.js';

const SAMPLES = 10;
/** A relative literal reference, optionally versioned (R4 references.html#literal). */
const LITERAL = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** The `SAMPLES` smallest by `key`. */
class Samples<T> {
  private readonly kept: { key: string; sample: T }[] = [];

  offer(key: string, sample: T): void {
    if (this.kept.length === SAMPLES && key >= this.kept[SAMPLES - 1]!.key) {
      return;
    }
    this.kept.push({ key, sample });
    this.kept.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.kept.length = Math.min(this.kept.length, SAMPLES);
  }

  list(): T[] {
    return this.kept.map(({ sample }) => sample);
  }
}

export class QualityPass {
  private readonly present = new Set<string>();
  /** Every literal reference target, with the references to it: resolved or not is known only at the end. */
  private readonly targets = new Map<string, { resource: string; path: string; reference: string }[]>();
  private readonly invalidByType = new Map<string, number>();
  private readonly invalid = new Samples<{ resource: string; issue: string }>();
  private invalidCount = 0;
  private readonly withoutIdentifier = new Samples<string>();
  private withoutIdentifierCount = 0;
  private checked = 0;
  private validated = 0;
  private reused = 0;

  /**
   * @param validateUntil when (epoch ms) validation stops, for a run about to run out of time; the other checks go on.
   * @param verdicts earlier runs' verdicts, kept for unchanged resources, and this run's, recorded.
   */
  constructor(
    private readonly validateUntil = Infinity,
    private readonly verdicts = new ValidationVerdicts(),
  ) {}

  add(resource: Resource): void {
    const ref = `${resource.resourceType}/${resource.id}`;
    this.checked++;
    this.present.add(ref);
    for (const { path, reference } of referencesIn(resource, resource.resourceType)) {
      const literal = LITERAL.exec(reference);
      if (literal && isResourceType(literal[1]!)) {
        const target = `${literal[1]}/${literal[2]}`;
        const list = this.targets.get(target) ?? [];
        list.push({ resource: ref, path, reference });
        this.targets.set(target, list);
      }
    }
    const lastUpdated = resource.meta?.lastUpdated;
    let issue = this.verdicts.earlierIssue(ref, lastUpdated);
    if (issue !== undefined) {
      this.reused++;
    } else if (Date.now() < this.validateUntil) {
      // Validation is ~1–2 ms a resource, the rest of the pass microseconds: it alone is cut short.
      const first = validateResource(resource)[0];
      issue = first ? `${first.expression?.[0] ?? ''}: ${first.diagnostics ?? first.details?.text ?? first.code}`.slice(0, 300) : null;
    }
    if (issue !== undefined) {
      this.validated++;
      this.verdicts.record(ref, lastUpdated, issue);
    }
    if (issue) {
      this.invalidCount++;
      this.invalidByType.set(resource.resourceType, (this.invalidByType.get(resource.resourceType) ?? 0) + 1);
      this.invalid.offer(ref, { resource: ref, issue });
    }
    if (resource.resourceType === 'Patient') {
      const definition = searchParameter(PARAMS.patientIdentifier.resourceType, PARAMS.patientIdentifier.code)!;
      const identifiers = extractValues(resource, definition).filter((value) => value.type === 'token' && value.code !== undefined);
      if (identifiers.length === 0) {
        this.withoutIdentifierCount++;
        this.withoutIdentifier.offer(ref, ref);
      }
    }
  }

  result(): DataQuality {
    const unresolved = new Samples<{ resource: string; path: string; reference: string }>();
    let unresolvedCount = 0;
    for (const [target, references] of this.targets) {
      if (!this.present.has(target)) {
        unresolvedCount += references.length;
        references.forEach((reference) => unresolved.offer(`${reference.resource} ${reference.path}`, reference));
      }
    }
    const byType: TypeCount[] = [...this.invalidByType].map(([resourceType, count]) => ({ resourceType, count })).sort((a, b) => (a.resourceType < b.resourceType ? -1 : 1));
    return {
      unresolvedReferences: { count: unresolvedCount, samples: unresolved.list() },
      invalidResources: { count: this.invalidCount, samples: this.invalid.list(), byType, validated: this.validated, reused: this.reused },
      patientsWithoutIdentifier: { count: this.withoutIdentifierCount, samples: this.withoutIdentifier.list() },
      resourcesChecked: this.checked,
    };
  }
}
