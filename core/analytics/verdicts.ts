/**
 * Validation verdicts kept from one run to the next, so that the data-quality pass validates only
 * what changed: a resource whose `meta.lastUpdated` is the one a verdict was given for keeps that
 * verdict. Validation (~1–2 ms a resource) is nearly all of a run's time, so a daily run of a
 * large tenant costs what its changes cost, and a first run cut short by time (`validateUntil`)
 * is carried on by the next.
 *
 * Verdicts hold only while validation itself is unchanged: the fingerprint is the definitions'
 * stamp and the hash of the code running (deployed, the function's whole bundle, so every
 * deployment validates everything again; under tsx, this module's file alone). Verdicts with
 * another fingerprint are dropped.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readDefinitionsJson } from '../r4/definitions.js';

/** A resource version's verdict: its `lastUpdated`, and its first validation issue (null: valid). */
export type Verdict = readonly [lastUpdated: string, issue: string | null];

export interface StoredVerdicts {
  readonly fingerprint: string;
  /** By `Type/id`. */
  readonly verdicts: Readonly<Record<string, Verdict>>;
}

let fingerprint: string | undefined;

export function validationFingerprint(): string {
  fingerprint ??= createHash('sha256')
    .update(JSON.stringify(readDefinitionsJson('stamp.json')))
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest('base64url');
  return fingerprint;
}

export class ValidationVerdicts {
  private readonly earlier: ReadonlyMap<string, Verdict>;
  /** This run's verdicts: of the resources it saw, so a deleted resource's verdict goes. */
  private readonly current = new Map<string, Verdict>();

  constructor(stored?: StoredVerdicts) {
    this.earlier = new Map(stored?.fingerprint === validationFingerprint() ? Object.entries(stored.verdicts) : []);
  }

  /** The earlier issue (null: valid) of this version of the resource; undefined when it has none. */
  earlierIssue(ref: string, lastUpdated: string | undefined): string | null | undefined {
    const verdict = this.earlier.get(ref);
    return verdict && lastUpdated !== undefined && verdict[0] === lastUpdated ? verdict[1] : undefined;
  }

  record(ref: string, lastUpdated: string | undefined, issue: string | null): void {
    if (lastUpdated !== undefined) {
      this.current.set(ref, [lastUpdated, issue]);
    }
  }

  toStored(): StoredVerdicts {
    return { fingerprint: validationFingerprint(), verdicts: Object.fromEntries(this.current) };
  }
}
