/**
 * The unit tier's global set-up: only the generated FHIR definitions (`scripts/build-definitions.ts`,
 * a no-op when they are current), so a bare `npx vitest run --project unit` works on a fresh
 * checkout. No Java, no database, no network.
 */
import { buildDefinitions } from '../../scripts/build-definitions.js';

export default function setup(): void {
  buildDefinitions();
}
