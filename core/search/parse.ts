/**
 * The R4 search query language (search.html) parsed into a `SearchQuery` that any engine can run.
 *
 * Every value is validated here, so engines never meet a malformed one. Two kinds of failure:
 * - a malformed request (a bad date, number, prefix, token, reference; an unknown modifier; a
 *   chain through a non-reference; a bad `_sort`, `_count`, `_include`…) is always a 400 naming
 *   the parameter as written;
 * - a parameter the server does not know or support (an unknown name, a modifier that does not
 *   apply to the parameter's type) follows `Prefer: handling`: 400 when strict, else ignored and
 *   listed in `ignored` with the reason.
 * Parameters with an empty value are ignored, as R4 says, under either handling.
 */
import { FhirError } from '../errors.js';
import { isResourceType, resourceTypes as allResourceTypes } from '../r4/definitions.js';
import { patientCompartmentParameters, searchParameter } from '../r4/search-parameters.js';
import { dateRange, decimalRange } from '../r4/precision.js';
import type { ChainLink, Criterion, CriterionValue, IncludeRule, Modifier, Prefix, SearchCriterion, SearchQuery, SortRule } from './types.js';
import type { SearchParameterDefinition, SearchParameterType } from '../r4/search-types.js';

export interface SearchInput {
  /** `[type]` for a type search; `[]` for a system search (the types come from `_type`, else all). */
  readonly resourceTypes: readonly string[];
  /** Parameter name as written → its values: a repeated parameter is AND, a comma inside a value is OR. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  readonly compartment?: { readonly resourceType: 'Patient'; readonly id: string };
}

export interface SearchOptions {
  readonly defaultCount: number;
  readonly maxCount: number;
  /** `Prefer: handling=strict`: unknown or unsupported parameters are a 400 instead of being ignored. */
  readonly strict: boolean;
}

/** A parameter this server does not know or support: ignored under lenient handling, a 400 under strict. */
class Unsupported extends Error {}

const PREFIXES: readonly Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

/**
 * R4 search.html#modifiers this server supports, by parameter type; `:[type]` on references is
 * checked separately. Token :above/:below (code system subsumption) and :in/:not-in (ValueSet
 * expansion) need a terminology service, which this server does not have: a 400, never a
 * silently wrong answer.
 */
const NEEDS_TERMINOLOGY = new Set(['above', 'below', 'in', 'not-in']);

const MODIFIERS_BY_TYPE: Record<SearchParameterType, readonly string[]> = {
  string: ['missing', 'exact', 'contains'],
  token: ['missing', 'text', 'not', 'of-type'],
  reference: ['missing', 'identifier'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  uri: ['missing', 'above', 'below'],
  composite: ['missing'],
  special: ['missing'],
};
const MODIFIERS = new Set([...Object.values(MODIFIERS_BY_TYPE).flat(), ...NEEDS_TERMINOLOGY]);

/** Read by the handler (response format), not by search. */
const HANDLER_PARAMETERS = new Set(['_format', '_pretty']);
/** Parameters that shape the result rather than select resources; each may appear once. */
const RESULT_PARAMETERS = new Set(['_sort', '_count', '_total', '_summary', '_elements', '_cursor', '_type']);
const INCLUDE_PARAMETERS = new Set(['_include', '_revinclude']);

const TOTALS = ['none', 'estimate', 'accurate'] as const;
const SUMMARIES = ['true', 'count', 'data', 'text', 'false'] as const;

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RELATIVE_REFERENCE = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const ELEMENT_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

export function parseSearchQuery(input: SearchInput, options: SearchOptions): SearchQuery {
  const parameters = withoutEmptyValues(input.query);
  const typeSearch = input.resourceTypes.length > 0;
  const types = typeSearch ? input.resourceTypes : systemSearchTypes(single(parameters, '_type'), input.compartment !== undefined);
  if (input.compartment) {
    assertInPatientCompartment(types, typeSearch ? undefined : '_type');
  }
  const ignored: { name: string; reason: string }[] = [];
  const unsupported = (name: string, reason: string): void => {
    if (options.strict) {
      throw FhirError.badRequest(reason, name);
    }
    ignored.push({ name, reason });
  };
  const lenient = (name: string, parse: () => void): void => {
    try {
      parse();
    } catch (error) {
      if (!(error instanceof Unsupported)) {
        throw error;
      }
      unsupported(name, error.message);
    }
  };

  const criteria: SearchCriterion[] = [];
  const include: IncludeRule[] = [];
  const revinclude: IncludeRule[] = [];
  for (const [name, values] of parameters) {
    if (HANDLER_PARAMETERS.has(name)) {
      continue;
    }
    const [base, modifier] = splitModifier(name);
    if (INCLUDE_PARAMETERS.has(base)) {
      const rules = base === '_include' ? include : revinclude;
      lenient(name, () => rules.push(...values.flatMap((value) => parseInclude(types, value, includeIterates(name, modifier), name))));
    } else if (RESULT_PARAMETERS.has(base)) {
      if (modifier !== undefined) {
        throw FhirError.badRequest(`${base} takes no modifier`, name);
      }
      if (name === '_type' && typeSearch) {
        unsupported(name, '_type applies to a system search only');
      }
    } else {
      lenient(name, () => criteria.push(...values.map((value) => parseCriterion(types, name, name, value))));
    }
  }

  const cursor = single(parameters, '_cursor');
  const summary = parseSummary(single(parameters, '_summary'));
  const elements = single(parameters, '_elements');
  return {
    resourceTypes: types,
    criteria,
    ...(input.compartment ? { compartment: input.compartment } : {}),
    sort: parseSort(types, single(parameters, '_sort')),
    count: parseCount(single(parameters, '_count'), options.maxCount) ?? options.defaultCount,
    ...(cursor !== undefined ? { cursor } : {}),
    total: parseTotal(single(parameters, '_total')),
    ...(summary ? { summary } : {}),
    ...(elements !== undefined ? { elements: parseElements(elements) } : {}),
    include,
    revinclude,
    ignored,
  };
}

// ---- Types searched ----

/** `_type` (comma list, each a resource type), else every type (every type of the compartment in a compartment search). */
function systemSearchTypes(typeParameter: string | undefined, inCompartment: boolean): readonly string[] {
  if (typeParameter === undefined) {
    return inCompartment ? allResourceTypes().filter(isInPatientCompartment) : allResourceTypes();
  }
  const types = typeParameter.split(',');
  for (const type of types) {
    if (!isResourceType(type)) {
      throw FhirError.badRequest(`"${type}" is not an R4 resource type`, '_type');
    }
  }
  return [...new Set(types)];
}

function isInPatientCompartment(resourceType: string): boolean {
  return patientCompartmentParameters(resourceType).length > 0;
}

/** R4 CompartmentDefinition/patient: a compartment search can only return types that belong to the compartment. */
function assertInPatientCompartment(types: readonly string[], expression: string | undefined): void {
  const outside = types.filter((type) => !isInPatientCompartment(type));
  if (outside.length > 0) {
    throw FhirError.badRequest(`${listed(outside)} ${outside.length === 1 ? 'is' : 'are'} not in the Patient compartment`, expression);
  }
}

// ---- Criteria ----

/** Where a criterion's parameter sits: on `resourceType`, or at the end of `chain`. */
interface ParameterPath {
  readonly resourceType: string;
  readonly chain: readonly ChainLink[];
  readonly param: SearchParameterDefinition;
}

/** A partial path: the chain followed so far from `resourceType`, arrived at type `at`. */
interface ChainHead {
  readonly resourceType: string;
  readonly chain: readonly ChainLink[];
  readonly at: string;
}

/**
 * One occurrence of a parameter (`key=value`, `key` as written or the rest of a `_has`). When the
 * key resolves to several paths (a chain through a multi-target reference, a system search over
 * several types), one criterion per path, OR-ed.
 */
function parseCriterion(types: readonly string[], key: string, name: string, value: string): SearchCriterion {
  if (key.startsWith('_has:')) {
    return parseHas(types, key, name, value);
  }
  const links = key.split('.');
  const [code, modifierText] = splitModifier(links[links.length - 1]);
  let heads = initialHeads(types, splitModifier(links[0])[0]);
  for (const link of links.slice(0, -1)) {
    heads = followLink(heads, link, name);
  }
  const paths = heads.flatMap((head) => {
    const param = searchParameter(head.at, code);
    return param ? [{ resourceType: head.resourceType, chain: head.chain, param }] : [];
  });
  if (paths.length === 0) {
    throw unknownParameter(code, heads.map((head) => head.at));
  }
  assertOneParameterType(paths, code, name);
  const criteria = paths.map((path) => criterionAt(path, parseModifier(modifierText, path.param, name), name, value));
  return criteria.length === 1 ? criteria[0] : { name, anyOf: criteria };
}

/** R4 (search.html#_type): a search over several types takes only parameters common to all of them. */
function initialHeads(types: readonly string[], firstCode: string): ChainHead[] {
  const lacking = types.filter((type) => !searchParameter(type, firstCode));
  if (lacking.length === types.length) {
    throw unknownParameter(firstCode, types);
  }
  if (lacking.length > 0) {
    throw new Unsupported(`"${firstCode}" is not a search parameter of ${listed(lacking)}; a search over several types takes only the parameters they share`);
  }
  return types.map((type) => ({ resourceType: type, chain: [], at: type }));
}

/**
 * `subject:Patient` or `subject` in `subject.name`: follows the reference to its named target, or
 * else to each of its targets (R4 search.html#chaining: an unqualified chain searches across them all).
 */
function followLink(heads: readonly ChainHead[], link: string, name: string): ChainHead[] {
  const [code, modifierText] = splitModifier(link);
  if (modifierText !== undefined && !isResourceType(modifierText)) {
    throw FhirError.badRequest(`A chained reference takes only a target type as modifier (e.g. subject:Patient.name), not ":${modifierText}"`, name);
  }
  const next = heads.flatMap((head) => {
    const param = searchParameter(head.at, code);
    if (!param) {
      return [];
    }
    if (param.type !== 'reference') {
      throw FhirError.badRequest(`"${code}" is a ${param.type} parameter of ${head.at}; only reference parameters can be chained`, name);
    }
    const targets = referenceTargets(param);
    if (modifierText !== undefined && !targets.includes(modifierText)) {
      throw FhirError.badRequest(`${head.at}.${code} cannot refer to ${modifierText} (only to ${listed(targets)})`, name);
    }
    return (modifierText === undefined ? targets : [modifierText]).map((target) => ({
      resourceType: head.resourceType,
      chain: [...head.chain, { param: code, targetType: target }],
      at: target,
    }));
  });
  if (next.length === 0) {
    throw unknownParameter(code, heads.map((head) => head.at));
  }
  return next;
}

/** R4: servers SHOULD reject a search where the parameter's type changes across the kinds of resource it reaches. */
function assertOneParameterType(paths: readonly ParameterPath[], code: string, name: string): void {
  const differing = paths.find((path) => path.param.type !== paths[0].param.type);
  if (differing) {
    throw FhirError.badRequest(
      `"${code}" is a ${paths[0].param.type} parameter of ${pathEnd(paths[0])} but a ${differing.param.type} parameter of ${pathEnd(differing)}; name the type to search (e.g. subject:Patient.${code})`,
      name,
    );
  }
}

function pathEnd(path: ParameterPath): string {
  return path.chain.length > 0 ? path.chain[path.chain.length - 1].targetType : path.resourceType;
}

function criterionAt(path: ParameterPath, modifier: Modifier | undefined, name: string, value: string): Criterion {
  return {
    name,
    chain: path.chain,
    param: path.param,
    resourceType: path.resourceType,
    ...(modifier !== undefined ? { modifier } : {}),
    values: splitUnescaped(value, ',').map((item) => parseValue(path.param, modifier, item, name)),
  };
}

/** `_has:Observation:patient:code=1234`: the inner part is itself any parameter of that type, another `_has` included. */
function parseHas(types: readonly string[], key: string, name: string, value: string): SearchCriterion {
  const [, resourceType, referenceParam, ...rest] = key.split(':');
  const innerKey = rest.join(':');
  if (!resourceType || !referenceParam || !innerKey) {
    throw FhirError.badRequest('_has takes the form _has:[type]:[reference parameter]:[parameter]=[value]', name);
  }
  if (!isResourceType(resourceType)) {
    throw FhirError.badRequest(`"${resourceType}" is not an R4 resource type`, name);
  }
  const param = searchParameter(resourceType, referenceParam);
  if (!param) {
    throw unknownParameter(referenceParam, [resourceType]);
  }
  if (param.type !== 'reference') {
    throw FhirError.badRequest(`"${referenceParam}" is a ${param.type} parameter of ${resourceType}; _has needs a reference parameter`, name);
  }
  const targets = referenceTargets(param);
  if (!types.some((type) => targets.includes(type))) {
    throw FhirError.badRequest(`${resourceType}.${referenceParam} cannot refer to ${listed(types)}`, name);
  }
  return { name, resourceType, referenceParam, inner: parseCriterion([resourceType], innerKey, name, value) };
}

/**
 * R4 search.html: servers SHALL reject a search with a modifier they do not support, so every
 * modifier problem is a 400 whatever the handling: one FHIR does not define, one that does not
 * apply to the parameter's type, one this server cannot honour, a target type the reference
 * cannot point to.
 */
function parseModifier(text: string | undefined, param: SearchParameterDefinition, name: string): Modifier | undefined {
  if (text === undefined) {
    return undefined;
  }
  if (MODIFIERS.has(text)) {
    if (param.type === 'token' && NEEDS_TERMINOLOGY.has(text)) {
      throw FhirError.badRequest(`:${text} on a token needs a terminology service, which this server does not have`, name);
    }
    if (!MODIFIERS_BY_TYPE[param.type].includes(text)) {
      throw FhirError.badRequest(`:${text} does not apply to ${param.type} parameters such as "${param.code}"`, name);
    }
    return text as Modifier;
  }
  if (!isResourceType(text)) {
    throw FhirError.badRequest(`Unknown modifier ":${text}"`, name);
  }
  if (param.type !== 'reference') {
    throw FhirError.badRequest(`A target type (:${text}) applies to reference parameters only; "${param.code}" is a ${param.type} parameter`, name);
  }
  const targets = referenceTargets(param);
  if (!targets.includes(text)) {
    throw FhirError.badRequest(`"${param.code}" cannot refer to ${text} (only to ${listed(targets)})`, name);
  }
  return { type: text };
}

// ---- Values ----

function parseValue(param: Pick<SearchParameterDefinition, 'code' | 'type' | 'targets' | 'components'>, modifier: Modifier | undefined, text: string, name: string): CriterionValue {
  if (text === '') {
    throw FhirError.badRequest('Empty value in a comma-separated list (escape a literal comma as \\,)', name);
  }
  if (modifier === 'missing') {
    return parseMissing(text, name);
  }
  switch (param.type) {
    case 'string':
      return { kind: 'string', value: unescape(text) };
    case 'token':
      return parseToken(text, modifier, name);
    case 'reference':
      return modifier === 'identifier' ? { kind: 'identifier', ...renameCode(systemAndCode(text, 'identifier', name)) } : parseReference(param, modifier, text, name);
    case 'date':
      return parseDate(text, name);
    case 'number':
      return { kind: 'number', ...parseNumber(text, 'number', name) };
    case 'quantity':
      return parseQuantity(text, name);
    case 'uri':
      return { kind: 'uri', value: unescape(text) };
    case 'composite':
      return parseComposite(param, text, name);
    case 'special':
      throw new Unsupported(`"${param.code}" is a special parameter, which this server does not support`);
  }
}

function parseMissing(text: string, name: string): CriterionValue {
  if (text !== 'true' && text !== 'false') {
    throw FhirError.badRequest(`:missing takes true or false, not "${text}"`, name);
  }
  return { kind: 'missing', missing: text === 'true' };
}

function parseToken(text: string, modifier: Modifier | undefined, name: string): CriterionValue {
  switch (modifier) {
    case 'text':
      return { kind: 'string', value: unescape(text) };
    case 'of-type':
      return parseOfType(text, name);
    default:
      return { kind: 'token', ...systemAndCode(text, 'token', name) };
  }
}

/** `code` (any system), `system|code`, `|code` (no system: `system` is ''), `system|` (any code). */
function systemAndCode(text: string, what: string, name: string): { system?: string; code?: string } {
  const parts = splitUnescaped(text, '|').map(unescape);
  if (parts.length === 1) {
    return { code: parts[0] };
  }
  const [system, code] = parts;
  if (parts.length > 2 || (system === '' && code === '')) {
    throw FhirError.badRequest(`"${text}" is not a valid ${what}: expected [code], [system]|[code], |[code] or [system]| (escape a literal | as \\|)`, name);
  }
  return { system, ...(code !== '' ? { code } : {}) };
}

function renameCode({ system, code }: { system?: string; code?: string }): { system?: string; value?: string } {
  return { ...(system !== undefined ? { system } : {}), ...(code !== undefined ? { value: code } : {}) };
}

/** R4: `:of-type=[system]|[code]|[value]`, the type coding then the identifier's value; all three parts present. */
function parseOfType(text: string, name: string): CriterionValue {
  const parts = splitUnescaped(text, '|').map(unescape);
  const [system, code, value] = parts;
  if (parts.length !== 3 || !system || !code || !value) {
    throw FhirError.badRequest(`"${text}" is not a valid :of-type value: expected [type system]|[type code]|[identifier value]`, name);
  }
  return { kind: 'token', system, code, value };
}

/**
 * `Type/id`; `id` (typed by `:[type]` or by a single-target parameter, else any target type); an
 * absolute URL, kept as written (whether it names a resource on this server is the engine's
 * business); a canonical with `|version`.
 */
function parseReference(param: Pick<SearchParameterDefinition, 'code' | 'targets'>, modifier: Modifier | undefined, text: string, name: string): CriterionValue {
  const typed = typeof modifier === 'object' ? modifier.type : undefined;
  const parts = splitUnescaped(text, '|').map(unescape);
  const [reference, version] = parts;
  if (ABSOLUTE_URI.test(reference) && parts.length <= 2) {
    return { kind: 'reference', url: reference, ...(version ? { version } : {}) };
  }
  const relative = parts.length === 1 ? RELATIVE_REFERENCE.exec(reference) : null;
  if (relative) {
    const [, resourceType, id] = relative;
    if (!isResourceType(resourceType) || !referenceTargets(param).includes(resourceType) || (typed !== undefined && typed !== resourceType)) {
      throw FhirError.badRequest(`"${param.code}"${typed ? `:${typed}` : ''} cannot refer to ${resourceType}`, name);
    }
    return { kind: 'reference', resourceType, id };
  }
  if (parts.length === 1 && ID.test(reference)) {
    const targets = referenceTargets(param);
    const resourceType = typed ?? (targets.length === 1 ? targets[0] : undefined);
    return { kind: 'reference', ...(resourceType ? { resourceType } : {}), id: reference };
  }
  throw FhirError.badRequest(`"${text}" is not a valid reference: expected [type]/[id], [id], an absolute URL or [canonical]|[version]`, name);
}

function parseDate(text: string, name: string): CriterionValue {
  const { prefix, rest } = splitPrefix(text, name);
  const range = dateRange(rest);
  if (!range) {
    throw FhirError.badRequest(`"${text}" is not a valid date: expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.sss]][Z|±hh:mm]]]], prefix one of ${PREFIXES.join(', ')}`, name);
  }
  return { kind: 'date', prefix, start: range.start, end: range.end };
}

function parseNumber(text: string, what: string, name: string): { prefix: Prefix; value: number; low: number; high: number } {
  const { prefix, rest } = splitPrefix(text, name);
  const range = decimalRange(rest);
  if (!range) {
    throw FhirError.badRequest(`"${text}" is not a valid ${what}: expected [prefix][decimal] (e.g. ge5.4), prefix one of ${PREFIXES.join(', ')}`, name);
  }
  return { prefix, ...range };
}

/** `[prefix]number`, `[prefix]number|system|code` or `[prefix]number||code` (code or unit, any system). */
function parseQuantity(text: string, name: string): CriterionValue {
  const parts = splitUnescaped(text, '|').map(unescape);
  if (parts.length !== 1 && parts.length !== 3) {
    throw FhirError.badRequest(`"${text}" is not a valid quantity: expected [prefix][number], [prefix][number]|[system]|[code] or [prefix][number]||[code]`, name);
  }
  const [number, system, code] = parts;
  return { kind: 'quantity', ...parseNumber(number, 'quantity', name), ...(system ? { system } : {}), ...(code ? { code } : {}) };
}

/** `code-value-quantity=http://loinc.org|8480-6$gt100`: one value per component, in the definition's order. */
function parseComposite(param: Pick<SearchParameterDefinition, 'code' | 'components'>, text: string, name: string): CriterionValue {
  const components = param.components ?? [];
  const parts = splitUnescaped(text, '$');
  if (parts.length !== components.length) {
    throw FhirError.badRequest(
      `"${text}" is not a valid value of "${param.code}": expected ${components.length} parts separated by $ (${components.map((component) => component.code).join('$')})`,
      name,
    );
  }
  return { kind: 'composite', components: parts.map((part, index) => parseValue(components[index], undefined, part, name)) };
}

/** The prefix of a number, date or quantity (default `eq`); other types take no prefix, so there `ge` is text. */
function splitPrefix(text: string, name: string): { prefix: Prefix; rest: string } {
  const head = text.slice(0, 2);
  if ((PREFIXES as readonly string[]).includes(head)) {
    return { prefix: head as Prefix, rest: text.slice(2) };
  }
  if (/^[a-z]{2}[-+.\d]/.test(text)) {
    throw FhirError.badRequest(`"${head}" in "${text}" is not a search prefix: use one of ${PREFIXES.join(', ')}`, name);
  }
  return { prefix: 'eq', rest: text };
}

// ---- Result parameters ----

/** `_sort=a,-b`: R4 allows any parameter of the type; across several types the engines share only `_id` and `_lastUpdated`. */
function parseSort(types: readonly string[], text: string | undefined): SortRule[] {
  return text === undefined ? [] : text.split(',').map((item) => sortRule(types, item));
}

function sortRule(types: readonly string[], item: string): SortRule {
  const descending = item.startsWith('-');
  const code = descending ? item.slice(1) : item;
  if (code === '_id' || code === '_lastUpdated') {
    return { param: code, descending };
  }
  if (types.length !== 1) {
    throw FhirError.badRequest(`Cannot sort a search over several types by "${code}": sort by _id or _lastUpdated, or search one type`, '_sort');
  }
  const param = searchParameter(types[0], code);
  if (!param) {
    throw FhirError.badRequest(`"${code}" is not a search parameter of ${types[0]}`, '_sort');
  }
  return { param, descending };
}

function parseCount(text: string | undefined, maxCount: number): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  if (!/^\d+$/.test(text)) {
    throw FhirError.badRequest(`_count must be a whole number from 0 to ${maxCount}, not "${text}"`, '_count');
  }
  const count = Number(text);
  if (count > maxCount) {
    throw FhirError.badRequest(`_count ${count} is above the maximum page size of ${maxCount}`, '_count');
  }
  return count;
}

/**
 * Default `estimate`: an engine that has counted its matches anyway reports the count, but a plain
 * listing of a large type need not count it (`_total=accurate` asks for that).
 */
function parseTotal(text: string | undefined): SearchQuery['total'] {
  return text === undefined ? 'estimate' : oneOf(text, TOTALS, '_total');
}

/** `_summary=false` asks for the whole resource: the same as no `_summary`. */
function parseSummary(text: string | undefined): SearchQuery['summary'] {
  const summary = text === undefined ? undefined : oneOf(text, SUMMARIES, '_summary');
  return summary === 'false' ? undefined : summary;
}

/** R4: "a comma-separated list of base element names", i.e. elements at the root of the resource. */
function parseElements(text: string): string[] {
  const elements = text.split(',').map((element) => element.trim());
  const invalid = elements.find((element) => !ELEMENT_NAME.test(element));
  if (invalid !== undefined) {
    throw FhirError.badRequest(`"${invalid}" is not an element name: _elements takes base element names such as identifier,active`, '_elements');
  }
  return elements;
}

function includeIterates(name: string, modifier: string | undefined): boolean {
  if (modifier !== undefined && modifier !== 'iterate') {
    throw FhirError.badRequest(`Unknown modifier ":${modifier}" (${name.split(':')[0]} takes :iterate only)`, name);
  }
  return modifier === 'iterate';
}

/**
 * `Type:param[:targetType]`, `Type:*` (every reference parameter of Type), and `*` for `_include`
 * (every reference of the types searched). `_revinclude=*` and `_include:iterate=*` would reach
 * every resource type of the server: unsupported.
 */
function parseInclude(types: readonly string[], value: string, iterate: boolean, name: string): IncludeRule[] {
  if (value === '*') {
    if (name !== '_include') {
      throw new Unsupported(`${name}=* is not supported: name the source type, as in [type]:*`);
    }
    return types.map((sourceType) => ({ sourceType, iterate }));
  }
  const [sourceType, param, targetType, ...extra] = value.split(':');
  if (!sourceType || !param || extra.length > 0 || targetType === '') {
    throw FhirError.badRequest(`"${value}" is not a valid ${name}: expected [type]:[parameter], [type]:[parameter]:[target type] or [type]:*`, name);
  }
  if (!isResourceType(sourceType)) {
    throw FhirError.badRequest(`"${sourceType}" is not an R4 resource type`, name);
  }
  if (targetType !== undefined && !isResourceType(targetType)) {
    throw FhirError.badRequest(`"${targetType}" is not an R4 resource type`, name);
  }
  if (param !== '*') {
    assertIncludable(sourceType, param, targetType, name);
  }
  return [{ sourceType, ...(param !== '*' ? { param } : {}), ...(targetType ? { targetType } : {}), iterate }];
}

function assertIncludable(sourceType: string, code: string, targetType: string | undefined, name: string): void {
  const param = searchParameter(sourceType, code);
  if (param?.type !== 'reference') {
    throw FhirError.badRequest(`"${code}" is not a reference parameter of ${sourceType}`, name);
  }
  if (targetType !== undefined && !referenceTargets(param).includes(targetType)) {
    throw FhirError.badRequest(`${sourceType}.${code} cannot refer to ${targetType}`, name);
  }
}

// ---- Helpers ----

function withoutEmptyValues(query: Readonly<Record<string, readonly string[]>>): Map<string, string[]> {
  const parameters = new Map<string, string[]>();
  for (const [name, values] of Object.entries(query)) {
    const present = values.filter((value) => value !== '');
    if (present.length > 0) {
      parameters.set(name, present);
    }
  }
  return parameters;
}

function single(parameters: ReadonlyMap<string, readonly string[]>, name: string): string | undefined {
  const values = parameters.get(name);
  if (values && values.length > 1) {
    throw FhirError.badRequest(`${name} may appear only once`, name);
  }
  return values?.[0];
}

function oneOf<T extends string>(text: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw FhirError.badRequest(`${name} must be one of ${allowed.join(', ')}, not "${text}"`, name);
  }
  return text as T;
}

/** `name:modifier` → [name, modifier]; the modifier is everything after the first colon. */
function splitModifier(key: string): [string, string | undefined] {
  const colon = key.indexOf(':');
  return colon === -1 ? [key, undefined] : [key.slice(0, colon), key.slice(colon + 1)];
}

/** A reference parameter without declared targets (e.g. a canonical) may point at any type. */
function referenceTargets(param: Pick<SearchParameterDefinition, 'targets'>): readonly string[] {
  return param.targets ?? allResourceTypes();
}

function unknownParameter(code: string, types: readonly string[]): Unsupported {
  return new Unsupported(`Unknown search parameter "${code}" for ${listed([...new Set(types)])}`);
}

function listed(types: readonly string[]): string {
  return types.length <= 3 ? types.join(', ') : `${types.slice(0, 3).join(', ')} and ${types.length - 3} other types`;
}

/**
 * Splits at `separator` where it is not escaped (R4 search.html#escaping: `\,` `\|` `\$` `\\`).
 * Escapes are kept, so that a part can be split again at another separator; `unescape` removes them last.
 */
function splitUnescaped(text: string, separator: ',' | '|' | '$'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '\\' && index + 1 < text.length) {
      current += char + text[index + 1];
      index++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(text: string): string {
  return text.replace(/\\([\\,|$])/g, '$1');
}
