/**
 * The search conformance table: query → expected matches (or error), one row per case, over the
 * fixtures of `fixtures.ts`. Every expectation was derived by reading R4 search.html (and the
 * official SearchParameter expressions) against the fixtures, never by running a server.
 *
 * Query syntax: `Type?name=value&...`, `Patient/{id}/Type?...` (compartment), `?...` (system).
 * Values are written decoded; the runner percent-encodes them. `{lastUpdated:Type/id}` stands for
 * that fixture's `meta.lastUpdated` as the server returned it.
 *
 * Where the specification leaves room, cases either avoid the ambiguous ground or say in `note`
 * which reading they take. The readings, once:
 * - Ranges (search.html#prefix): a date is the range its precision implies, and a Period is
 *   [start, end] with a missing end at +infinity. eq = search range contains target range;
 *   gt = target ends after the search range; lt = target starts before it; ge/le = gt/lt or eq;
 *   sa = target starts after the search range; eb = target ends before it; ne = not eq.
 *   Numbers and quantities: the search value's precision gives its range (`100` = [99.5, 100.5)).
 *   Stored decimals cannot carry precision through JSON, so no case depends on whether a stored
 *   value is a point or a range: stored values never sit inside a search value's range except
 *   where every reading agrees, and no gt/lt case has a stored value within half a unit of it.
 * - `ne` and the other prefixes match only resources that have a value (a missing value is
 *   neither equal nor unequal); `:not` on tokens is the complement, missing values included
 *   (search.html#modifiers: "including those that have no value").
 * - String search compares each part of a HumanName / Address separately (search.html#string:
 *   "may match any of the string fields"); default is case- and accent-insensitive starts-with;
 *   `:contains` is case- and accent-insensitive too; `:exact` is case- and accent-sensitive.
 * - `ap` is only exercised where an overlap decides it and non-matches are years away.
 */
import { CONDITION_CLINICAL, CONFIDENTIALITY, EXTERNAL_PRACTITIONER, idsOf, LAB_CODES, LOINC, NPI, OBSERVATION_CATEGORY, ORG_IDS, SNOMED, SSN, TAGS, UCUM, V2_0203 } from './fixtures.js';

/** The resource matches expected (entries with `search.mode` = `match`). */
export interface MatchExpectation {
  /** Bare ids when every match is of the query's type; `Type/id` in system searches. */
  readonly ids: readonly string[];
  /** Compare in order (the case sorts); otherwise as sets. */
  readonly ordered?: boolean;
  /** Follow `next` links to the end; `ids` are then the matches of all pages together. */
  readonly followNext?: boolean;
  /** `Type/id` of the entries with `search.mode` = `include`, as a set. Absent means none. */
  readonly included?: readonly string[];
  /** `Bundle.total`. */
  readonly total?: number;
  /** Checked on every matched resource: elements present / absent, and the SUBSETTED tag. */
  readonly elements?: { readonly present?: readonly string[]; readonly absent?: readonly string[]; readonly subsetted?: boolean };
  /** An ignored parameter: reported in an OperationOutcome entry (`search.mode` = `outcome`) and left out of the `self` link. */
  readonly ignored?: string;
}

/** The search is refused with an OperationOutcome naming the parameter (any of `mentions`). */
export interface ErrorExpectation {
  readonly status: 400;
  readonly mentions: readonly string[];
}

export interface SearchCase {
  readonly name: string;
  readonly query: string;
  /** POST: the query goes as an `application/x-www-form-urlencoded` body to `[type]/_search`. */
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly expect: MatchExpectation | ErrorExpectation;
  /** The R4 specification page and section the expectation comes from. */
  readonly specRef: string;
  /** How an ambiguity of the specification was decided. */
  readonly note?: string;
}

export interface CaseGroup {
  readonly category: string;
  readonly cases: readonly SearchCase[];
}

/** Ids of every fixture of a type except the ones named. */
function allBut(resourceType: string, ...excluded: string[]): string[] {
  return idsOf(resourceType).filter((id) => !excluded.includes(id));
}

const SEARCH = 'search.html';
const STRING = `${SEARCH}#string`;
const TOKEN = `${SEARCH}#token`;
const REFERENCE = `${SEARCH}#reference`;
const DATE = `${SEARCH}#date`;
const NUMBER = `${SEARCH}#number`;
const QUANTITY = `${SEARCH}#quantity`;
const URI = `${SEARCH}#uri`;
const COMPOSITE = `${SEARCH}#composite`;
const PREFIX = `${SEARCH}#prefix`;
const MODIFIERS = `${SEARCH}#modifiers`;
const ERRORS = `${SEARCH}#errors`;
const CHALMERS_NAMES = ['pat-chalmers', 'pat-chalmers-accent', 'pat-baby', 'pat-smith'];
const ALL_OBSERVATIONS_SORTED = [...idsOf('Observation')].sort();

const strings: SearchCase[] = [
  { name: 'default is starts-with on any name part', query: 'Patient?name=chalmers', expect: { ids: CHALMERS_NAMES }, specRef: STRING, note: 'pat-smith has "Chalmers" as a given name; name matches any HumanName part' },
  { name: 'case-insensitive', query: 'Patient?name=CHALMERS', expect: { ids: CHALMERS_NAMES }, specRef: STRING },
  { name: 'accent-insensitive (accent in the query)', query: 'Patient?name=Chálmers', expect: { ids: CHALMERS_NAMES }, specRef: STRING },
  { name: 'a prefix matches', query: 'Patient?name=chal', expect: { ids: CHALMERS_NAMES }, specRef: STRING },
  { name: 'the middle of a word does not match by default', query: 'Patient?name=halmers', expect: { ids: [] }, specRef: STRING },
  { name: 'family: every family name, the maiden one too', query: 'Patient?family=chalmers', expect: { ids: ['pat-chalmers', 'pat-chalmers-accent', 'pat-baby'] }, specRef: STRING },
  { name: 'family: a maiden name', query: 'Patient?family=windsor', expect: { ids: ['pat-chalmers', 'pat-windsor'] }, specRef: STRING },
  { name: 'given: a given name equal to another family name', query: 'Patient?given=chalmers', expect: { ids: ['pat-smith'] }, specRef: STRING },
  { name: 'given: a name that has no family', query: 'Patient?given=jim', expect: { ids: ['pat-chalmers'] }, specRef: STRING },
  { name: 'given: accent in the data only', query: 'Patient?given=elodie', expect: { ids: ['pat-chalmers-accent'] }, specRef: STRING },
  { name: 'name: HumanName.text', query: 'Patient?name=madonna', expect: { ids: ['pat-text-only'] }, specRef: STRING },
  { name: 'OR of two values', query: 'Patient?name=peter,anne', expect: { ids: ['pat-chalmers', 'pat-windsor'] }, specRef: `${SEARCH}#combining` },
  { name: 'AND of two values, met by different names', query: 'Patient?name=peter&name=windsor', expect: { ids: ['pat-chalmers'] }, specRef: `${SEARCH}#combining` },
  { name: ':exact matches a whole part', query: 'Patient?name:exact=Chalmers', expect: { ids: ['pat-chalmers', 'pat-baby', 'pat-smith'] }, specRef: STRING },
  { name: ':exact is case-sensitive', query: 'Patient?name:exact=chalmers', expect: { ids: [] }, specRef: STRING },
  { name: ':exact is accent-sensitive', query: 'Patient?name:exact=Chálmers', expect: { ids: ['pat-chalmers-accent'] }, specRef: STRING },
  { name: ':exact is not a prefix match', query: 'Patient?family:exact=Chal', expect: { ids: [] }, specRef: STRING },
  { name: ':exact with an accent in both', query: 'Patient?given:exact=Élodie', expect: { ids: ['pat-chalmers-accent'] }, specRef: STRING },
  { name: ':exact without the accent', query: 'Patient?given:exact=Elodie', expect: { ids: [] }, specRef: STRING },
  { name: ':contains anywhere, any case', query: 'Patient?name:contains=LMER', expect: { ids: CHALMERS_NAMES }, specRef: STRING },
  { name: ':contains at the end', query: 'Patient?family:contains=son', expect: { ids: ['pat-smithson'] }, specRef: STRING },
  { name: ':contains across an accent', query: 'Patient?name:contains=alm', expect: { ids: CHALMERS_NAMES }, specRef: STRING, note: 'accent-insensitivity applies to :contains as to the default' },
  { name: ':missing=true', query: 'Patient?name:missing=true', expect: { ids: ['pat-anonymous'] }, specRef: MODIFIERS },
  { name: ':missing=false', query: 'Patient?name:missing=false', expect: { ids: allBut('Patient', 'pat-anonymous') }, specRef: MODIFIERS },
  { name: 'family:missing, a name with text only has no family', query: 'Patient?family:missing=true', expect: { ids: ['pat-text-only', 'pat-anonymous'] }, specRef: MODIFIERS },
  { name: 'address-city prefix, mixed case in the data', query: 'Patient?address-city=pleasant', expect: { ids: ['pat-chalmers', 'pat-baby'] }, specRef: STRING },
  { name: 'address-city, any of several addresses', query: 'Patient?address-city=boston', expect: { ids: ['pat-smith', 'pat-smithson'] }, specRef: STRING },
  { name: 'address-city:exact', query: 'Patient?address-city:exact=Boston', expect: { ids: ['pat-smith', 'pat-smithson'] }, specRef: STRING },
  { name: 'address-city:exact is case-sensitive', query: 'Patient?address-city:exact=boston', expect: { ids: [] }, specRef: STRING },
  { name: 'address-city:contains', query: 'Patient?address-city:contains=ork', expect: { ids: ['pat-smithson'] }, specRef: STRING },
  { name: 'address-postalcode', query: 'Patient?address-postalcode=3999', expect: { ids: ['pat-chalmers', 'pat-baby'] }, specRef: STRING },
  { name: 'address-postalcode prefix with letters', query: 'Patient?address-postalcode=sw1a', expect: { ids: ['pat-windsor'] }, specRef: STRING },
  { name: 'address: any part of the Address', query: 'Patient?address=london', expect: { ids: ['pat-windsor'] }, specRef: STRING },
  { name: 'address-state', query: 'Patient?address-state=ma', expect: { ids: ['pat-smith', 'pat-smithson'] }, specRef: STRING },
  { name: 'address-city:missing', query: 'Patient?address-city:missing=true', expect: { ids: ['pat-text-only', 'pat-anonymous'] }, specRef: MODIFIERS },
  { name: 'Practitioner name, given part', query: 'Practitioner?name=greg', expect: { ids: ['prac-house'] }, specRef: STRING },
  { name: 'Practitioner family prefix', query: 'Practitioner?family=wil', expect: { ids: ['prac-wilson'] }, specRef: STRING },
  { name: 'Organization name', query: 'Organization?name=acme', expect: { ids: ['org-acme', 'org-acme-lab', 'org-acme-micro'] }, specRef: STRING },
  { name: 'Organization name:exact on an alias', query: 'Organization?name:exact=ACME', expect: { ids: ['org-acme'] }, specRef: STRING, note: 'Organization.name covers Organization.alias' },
  { name: 'value-string', query: 'Observation?value-string=feeling', expect: { ids: ['obs-note'] }, specRef: STRING },
  { name: 'value-string covers CodeableConcept.text', query: 'Observation?value-string=former', expect: { ids: ['obs-smoking'] }, specRef: STRING, note: 'the R4 expression includes (value as CodeableConcept).text' },
  { name: 'value-string:contains', query: 'Observation?value-string:contains=better', expect: { ids: ['obs-note'] }, specRef: STRING },
  { name: 'Condition onset-info', query: 'Condition?onset-info=child', expect: { ids: ['cond-asthma'] }, specRef: STRING },
  { name: 'ValueSet name', query: 'ValueSet?name=col', expect: { ids: ['vs-colors', 'vs-colors-v2'] }, specRef: STRING },
];

const tokens: SearchCase[] = [
  { name: 'code', query: 'Patient?gender=male', expect: { ids: ['pat-chalmers', 'pat-baby', 'pat-smithson'] }, specRef: TOKEN },
  { name: 'another code', query: 'Patient?gender=female', expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-smith'] }, specRef: TOKEN },
  { name: 'OR of codes', query: 'Patient?gender=male,female', expect: { ids: allBut('Patient', 'pat-text-only', 'pat-anonymous') }, specRef: TOKEN },
  { name: ':not includes resources without a value', query: 'Patient?gender:not=male', expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-smith', 'pat-text-only', 'pat-anonymous'] }, specRef: MODIFIERS },
  { name: ':missing=true', query: 'Patient?gender:missing=true', expect: { ids: ['pat-text-only'] }, specRef: MODIFIERS },
  { name: ':missing=false', query: 'Patient?gender:missing=false', expect: { ids: allBut('Patient', 'pat-text-only') }, specRef: MODIFIERS },
  { name: 'identifier system|value', query: `Patient?identifier=urn:oid:1.2.36.146.595.217.0.1|12345`, expect: { ids: ['pat-chalmers'] }, specRef: TOKEN },
  { name: 'identifier value, any system', query: 'Patient?identifier=12345', expect: { ids: ['pat-chalmers'] }, specRef: TOKEN },
  { name: 'identifier system|, any value', query: 'Patient?identifier=urn:oid:1.2.36.146.595.217.0.1|', expect: { ids: ['pat-chalmers', 'pat-baby'] }, specRef: TOKEN },
  { name: 'identifier system| of another system', query: `Patient?identifier=${SSN}|`, expect: { ids: ['pat-chalmers', 'pat-windsor', 'pat-smith'] }, specRef: TOKEN },
  { name: 'identifier |value: no system', query: 'Patient?identifier=|ANON-1', expect: { ids: ['pat-anonymous'] }, specRef: TOKEN },
  { name: 'identifier value without a system in the data', query: 'Patient?identifier=ANON-1', expect: { ids: ['pat-anonymous'] }, specRef: TOKEN },
  { name: '|value does not match a value that has a system', query: 'Patient?identifier=|12345', expect: { ids: [] }, specRef: TOKEN },
  { name: 'system|value of the wrong system', query: `Patient?identifier=${SSN}|12345`, expect: { ids: [] }, specRef: TOKEN },
  { name: 'OR of identifier values', query: 'Patient?identifier=999-11-2222,999-33-4444', expect: { ids: ['pat-chalmers', 'pat-smith'] }, specRef: TOKEN },
  { name: 'identifier:not excludes a resource with any matching value', query: `Patient?identifier:not=${SSN}|999-11-2222`, expect: { ids: allBut('Patient', 'pat-chalmers') }, specRef: MODIFIERS, note: ':not is the complement of the match, not "some value differs"' },
  { name: 'identifier:missing', query: 'Patient?identifier:missing=true', expect: { ids: ['pat-chalmers-accent', 'pat-text-only'] }, specRef: MODIFIERS },
  { name: 'identifier:of-type', query: `Patient?identifier:of-type=${V2_0203}|MR|12345`, expect: { ids: ['pat-chalmers'] }, specRef: MODIFIERS },
  { name: 'identifier:of-type, another type', query: `Patient?identifier:of-type=${V2_0203}|DL|S1234`, expect: { ids: ['pat-smithson'] }, specRef: MODIFIERS },
  { name: 'identifier:of-type, type and value on different identifiers', query: `Patient?identifier:of-type=${V2_0203}|MR|S1234`, expect: { ids: [] }, specRef: MODIFIERS },
  { name: 'identifier:text searches Identifier.type.text', query: 'Patient?identifier:text=medical', expect: { ids: ['pat-chalmers'] }, specRef: MODIFIERS },
  { name: 'boolean true', query: 'Patient?active=true', expect: { ids: ['pat-chalmers', 'pat-baby', 'pat-smith'] }, specRef: TOKEN },
  { name: 'boolean false', query: 'Patient?active=false', expect: { ids: ['pat-chalmers-accent', 'pat-smithson'] }, specRef: TOKEN },
  { name: 'boolean :missing', query: 'Patient?active:missing=true', expect: { ids: ['pat-windsor', 'pat-text-only', 'pat-anonymous'] }, specRef: MODIFIERS },
  { name: 'boolean :not', query: 'Patient?active:not=true', expect: { ids: ['pat-chalmers-accent', 'pat-smithson', 'pat-windsor', 'pat-text-only', 'pat-anonymous'] }, specRef: MODIFIERS },
  { name: 'deceased=true from a deceasedDateTime', query: 'Patient?deceased=true', expect: { ids: ['pat-windsor'] }, specRef: TOKEN },
  {
    name: 'deceased=false',
    query: 'Patient?deceased=false',
    expect: { ids: allBut('Patient', 'pat-windsor') },
    specRef: TOKEN,
    note: 'the expression "deceased.exists() and deceased != false" is false for every patient without a deceased value',
  },
  { name: 'email', query: 'Patient?email=peter.chalmers@example.org', expect: { ids: ['pat-chalmers'] }, specRef: TOKEN },
  { name: 'phone', query: 'Patient?phone=555-0100', expect: { ids: ['pat-smith'] }, specRef: TOKEN },
  { name: 'telecom', query: 'Patient?telecom=elodie@example.fr', expect: { ids: ['pat-chalmers-accent'] }, specRef: TOKEN },
  { name: 'email:missing, a phone is not an email', query: 'Patient?email:missing=true', expect: { ids: allBut('Patient', 'pat-chalmers', 'pat-chalmers-accent') }, specRef: MODIFIERS },
  { name: 'address-use', query: 'Patient?address-use=old', expect: { ids: ['pat-smithson'] }, specRef: TOKEN },
  { name: 'Coding system|code', query: `Observation?code=${LOINC}|2339-0`, expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-glu-120'] }, specRef: TOKEN },
  { name: 'Coding code, any system', query: 'Observation?code=2339-0', expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-glu-120'] }, specRef: TOKEN },
  { name: 'the second coding of a CodeableConcept', query: `Observation?code=${LAB_CODES}|GLU`, expect: { ids: ['obs-glu-100', 'obs-glu-100-04'] }, specRef: TOKEN },
  { name: '|code: every coding has a system', query: 'Observation?code=|GLU', expect: { ids: [] }, specRef: TOKEN },
  {
    name: 'system|: any code of the system',
    query: `Observation?code=${LOINC}|`,
    expect: { ids: allBut('Observation', 'obs-glu-100-04', 'obs-note') },
    specRef: TOKEN,
  },
  { name: 'OR of system|code', query: `Observation?code=${LOINC}|2339-0,${LOINC}|29463-7`, expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-glu-120', 'obs-weight'] }, specRef: TOKEN },
  { name: 'code:not', query: `Observation?code:not=${LOINC}|2339-0`, expect: { ids: allBut('Observation', 'obs-glu-100', 'obs-glu-99-6', 'obs-glu-120') }, specRef: MODIFIERS },
  {
    name: 'code:text on Coding.display and CodeableConcept.text',
    query: 'Observation?code:text=glucose',
    expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-glu-100-04', 'obs-glu-120', 'obs-glu-mmol'] },
    specRef: MODIFIERS,
    note: 'chosen so that starts-with, word-starts-with and contains readings of :text agree',
  },
  { name: 'code:text with two words', query: 'Observation?code:text=blood pressure', expect: { ids: ['obs-bp-1', 'obs-bp-2'] }, specRef: MODIFIERS },
  {
    name: 'status',
    query: 'Observation?status=final',
    expect: { ids: allBut('Observation', 'obs-glu-100-04', 'obs-glu-120', 'obs-hr') },
    specRef: TOKEN,
  },
  { name: 'status:not', query: 'Observation?status:not=final', expect: { ids: ['obs-glu-100-04', 'obs-glu-120', 'obs-hr'] }, specRef: MODIFIERS },
  { name: 'AND of two codes of a single-valued element', query: 'Observation?status=final&status=amended', expect: { ids: [] }, specRef: `${SEARCH}#combining` },
  { name: 'category', query: `Observation?category=${OBSERVATION_CATEGORY}|vital-signs`, expect: { ids: ['obs-weight', 'obs-bp-1', 'obs-bp-2', 'obs-hr'] }, specRef: TOKEN },
  { name: 'category:missing', query: 'Observation?category:missing=true', expect: { ids: ['obs-glu-100-04', 'obs-note'] }, specRef: MODIFIERS },
  { name: 'value-concept', query: `Observation?value-concept=${SNOMED}|8517006`, expect: { ids: ['obs-smoking'] }, specRef: TOKEN },
  { name: 'value-concept:text', query: 'Observation?value-concept:text=former', expect: { ids: ['obs-smoking'] }, specRef: MODIFIERS },
  { name: 'combo-code covers component codes', query: 'Observation?combo-code=8480-6', expect: { ids: ['obs-bp-1', 'obs-bp-2'] }, specRef: TOKEN },
  { name: 'component-code', query: `Observation?component-code=${LOINC}|8462-4`, expect: { ids: ['obs-bp-1', 'obs-bp-2'] }, specRef: TOKEN },
  { name: 'Condition clinical-status code', query: 'Condition?clinical-status=active', expect: { ids: ['cond-diabetes', 'cond-hypertension'] }, specRef: TOKEN },
  { name: 'Condition clinical-status system|code', query: `Condition?clinical-status=${CONDITION_CLINICAL}|resolved`, expect: { ids: ['cond-flu'] }, specRef: TOKEN },
  { name: 'Condition clinical-status:not', query: 'Condition?clinical-status:not=active', expect: { ids: ['cond-flu', 'cond-asthma'] }, specRef: MODIFIERS },
  { name: 'Condition code, SNOMED', query: `Condition?code=${SNOMED}|44054006`, expect: { ids: ['cond-diabetes'] }, specRef: TOKEN },
  { name: 'Condition code, ICD-10 second coding', query: 'Condition?code=http://hl7.org/fhir/sid/icd-10-cm|E11.9', expect: { ids: ['cond-diabetes'] }, specRef: TOKEN },
  { name: 'Condition code system|', query: `Condition?code=${SNOMED}|`, expect: { ids: idsOf('Condition') }, specRef: TOKEN },
  { name: 'Condition code:text on CodeableConcept.text', query: 'Condition?code:text=high', expect: { ids: ['cond-hypertension'] }, specRef: MODIFIERS },
  { name: 'Condition verification-status:missing', query: 'Condition?verification-status:missing=true', expect: { ids: ['cond-hypertension', 'cond-flu', 'cond-asthma'] }, specRef: MODIFIERS },
  { name: 'Encounter class (a Coding)', query: 'Encounter?class=AMB', expect: { ids: ['enc-1', 'enc-4'] }, specRef: TOKEN },
  { name: 'Encounter class system|code', query: 'Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|EMER', expect: { ids: ['enc-3'] }, specRef: TOKEN },
  { name: 'Encounter status OR', query: 'Encounter?status=finished,in-progress', expect: { ids: ['enc-1', 'enc-2', 'enc-3'] }, specRef: TOKEN },
  { name: 'Encounter type', query: `Encounter?type=${SNOMED}|185349003`, expect: { ids: ['enc-1'] }, specRef: TOKEN },
  { name: 'Organization active=false', query: 'Organization?active=false', expect: { ids: ['org-general'] }, specRef: TOKEN },
  { name: 'Organization active:missing', query: 'Organization?active:missing=true', expect: { ids: ['org-widgets'] }, specRef: MODIFIERS },
  { name: 'Practitioner identifier system|', query: `Practitioner?identifier=${NPI}|`, expect: { ids: ['prac-house', 'prac-cuddy'] }, specRef: TOKEN },
  { name: 'Practitioner identifier:missing', query: 'Practitioner?identifier:missing=true', expect: { ids: ['prac-wilson'] }, specRef: MODIFIERS },
  { name: 'ValueSet version', query: 'ValueSet?version=2.0.0', expect: { ids: ['vs-colors-v2'] }, specRef: TOKEN },
  { name: 'ValueSet status', query: 'ValueSet?status=active', expect: { ids: ['vs-colors', 'vs-shapes', 'vs-loinc'] }, specRef: TOKEN },
];

const references: SearchCase[] = [
  { name: 'Type/id', query: 'Patient?general-practitioner=Practitioner/prac-house', expect: { ids: ['pat-chalmers', 'pat-smith'] }, specRef: REFERENCE },
  { name: 'bare id', query: 'Patient?general-practitioner=prac-house', expect: { ids: ['pat-chalmers', 'pat-smith'] }, specRef: REFERENCE },
  { name: ':[type] with an id', query: 'Patient?general-practitioner:Practitioner=prac-house', expect: { ids: ['pat-chalmers', 'pat-smith'] }, specRef: REFERENCE },
  { name: ':[type] selects the Organization target', query: 'Patient?general-practitioner:Organization=org-acme', expect: { ids: ['pat-baby'] }, specRef: REFERENCE },
  { name: ':[type] of the wrong type', query: 'Patient?general-practitioner:Organization=prac-house', expect: { ids: [] }, specRef: REFERENCE },
  { name: 'an external absolute URL', query: `Patient?general-practitioner=${EXTERNAL_PRACTITIONER}`, expect: { ids: ['pat-chalmers-accent'] }, specRef: REFERENCE },
  { name: ':identifier on a logical reference', query: `Patient?general-practitioner:identifier=${NPI}|2222222222`, expect: { ids: ['pat-chalmers-accent'] }, specRef: MODIFIERS },
  { name: 'a logical reference is not a literal one', query: 'Patient?general-practitioner=Practitioner/prac-cuddy', expect: { ids: ['pat-windsor'] }, specRef: REFERENCE },
  { name: 'OR of references', query: 'Patient?general-practitioner=Practitioner/prac-house,Practitioner/prac-wilson', expect: { ids: ['pat-chalmers', 'pat-smith', 'pat-smithson'] }, specRef: REFERENCE },
  { name: ':missing', query: 'Patient?general-practitioner:missing=true', expect: { ids: ['pat-text-only', 'pat-anonymous'] }, specRef: MODIFIERS },
  { name: 'organization', query: 'Patient?organization=org-acme', expect: { ids: ['pat-chalmers', 'pat-smith'] }, specRef: REFERENCE },
  { name: 'organization:missing', query: 'Patient?organization:missing=true', expect: { ids: ['pat-chalmers-accent', 'pat-smithson', 'pat-text-only', 'pat-anonymous'] }, specRef: MODIFIERS },
  { name: 'subject Type/id', query: 'Observation?subject=Patient/pat-chalmers', expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-bp-1', 'obs-panel'] }, specRef: REFERENCE },
  { name: 'subject bare id', query: 'Observation?subject=pat-chalmers', expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-bp-1', 'obs-panel'] }, specRef: REFERENCE },
  { name: 'subject:Patient', query: 'Observation?subject:Patient=pat-windsor', expect: { ids: ['obs-glu-120', 'obs-bp-2', 'obs-smoking'] }, specRef: REFERENCE },
  { name: 'patient', query: 'Observation?patient=Patient/pat-smith', expect: { ids: ['obs-glu-mmol', 'obs-weight', 'obs-note'] }, specRef: REFERENCE },
  { name: 'performer Practitioner', query: 'Observation?performer=Practitioner/prac-house', expect: { ids: ['obs-glu-100'] }, specRef: REFERENCE },
  { name: 'performer Patient', query: 'Observation?performer=Patient/pat-chalmers', expect: { ids: ['obs-note'] }, specRef: REFERENCE },
  { name: 'performer:Organization', query: 'Observation?performer:Organization=org-acme-lab', expect: { ids: ['obs-glu-100'] }, specRef: REFERENCE },
  {
    name: 'performer:missing',
    query: 'Observation?performer:missing=true',
    expect: { ids: allBut('Observation', 'obs-glu-100', 'obs-glu-99-6', 'obs-note') },
    specRef: MODIFIERS,
  },
  { name: 'has-member', query: 'Observation?has-member=Observation/obs-glu-100', expect: { ids: ['obs-panel'] }, specRef: REFERENCE },
  { name: 'encounter', query: 'Observation?encounter=enc-1', expect: { ids: ['obs-glu-100', 'obs-bp-1'] }, specRef: REFERENCE },
  { name: 'a reference to nothing', query: 'Observation?subject=Patient/pat-nobody', expect: { ids: [] }, specRef: REFERENCE },
  { name: 'Encounter participant', query: 'Encounter?participant=Practitioner/prac-house', expect: { ids: ['enc-1', 'enc-3'] }, specRef: REFERENCE },
  { name: 'Encounter practitioner', query: 'Encounter?practitioner=prac-cuddy', expect: { ids: ['enc-2'] }, specRef: REFERENCE },
  { name: 'Encounter service-provider', query: 'Encounter?service-provider=Organization/org-general', expect: { ids: ['enc-2', 'enc-3'] }, specRef: REFERENCE },
  { name: 'Condition patient', query: 'Condition?patient=pat-chalmers', expect: { ids: ['cond-diabetes', 'cond-asthma'] }, specRef: REFERENCE },
  { name: 'Condition encounter', query: 'Condition?encounter=Encounter/enc-3', expect: { ids: ['cond-flu'] }, specRef: REFERENCE },
  { name: 'Condition asserter', query: 'Condition?asserter=Practitioner/prac-cuddy', expect: { ids: ['cond-hypertension'] }, specRef: REFERENCE },
  { name: 'Organization partof', query: 'Organization?partof=org-acme', expect: { ids: ['org-acme-lab'] }, specRef: REFERENCE },
  { name: 'Organization partof:missing', query: 'Organization?partof:missing=true', expect: { ids: ['org-acme', 'org-general', 'org-widgets'] }, specRef: MODIFIERS },
  { name: 'canonical url|version', query: 'StructureDefinition?base=http://hl7.org/fhir/StructureDefinition/Patient|4.0.1', expect: { ids: ['sd-vip-patient'] }, specRef: REFERENCE },
  {
    name: 'canonical url without a version matches any version',
    query: 'StructureDefinition?base=http://hl7.org/fhir/StructureDefinition/Patient',
    expect: { ids: ['sd-vip-patient'] },
    specRef: REFERENCE,
    note: 'a versionless search value matches the canonical whatever version the reference pins (references.html#canonical)',
  },
  { name: 'canonical of another version', query: 'StructureDefinition?base=http://hl7.org/fhir/StructureDefinition/Patient|3.0.2', expect: { ids: [] }, specRef: REFERENCE },
  { name: 'canonical to a local profile with its version', query: 'StructureDefinition?base=http://example.org/StructureDefinition/vip-patient|1.0.0', expect: { ids: ['sd-research-patient'] }, specRef: REFERENCE },
  { name: 'canonical to a local profile, wrong version', query: 'StructureDefinition?base=http://example.org/StructureDefinition/vip-patient|2.0.0', expect: { ids: [] }, specRef: REFERENCE },
  { name: 'canonical stored without a version', query: 'StructureDefinition?base=http://hl7.org/fhir/StructureDefinition/Observation', expect: { ids: ['sd-plain-observation'] }, specRef: REFERENCE },
];

const OBS_2023 = ['obs-glu-100', 'obs-bp-1', 'obs-panel', 'obs-glu-99-6', 'obs-glu-100-04', 'obs-glu-120', 'obs-bp-2'];

const dates: SearchCase[] = [
  { name: 'eq at day precision', query: 'Patient?birthdate=1974-12-25', expect: { ids: ['pat-chalmers'] }, specRef: DATE },
  { name: 'eq at month precision contains the day and the month', query: 'Patient?birthdate=1974-12', expect: { ids: ['pat-chalmers', 'pat-chalmers-accent'] }, specRef: DATE },
  { name: 'eq at year precision contains year, month and day', query: 'Patient?birthdate=1974', expect: { ids: ['pat-chalmers', 'pat-chalmers-accent', 'pat-windsor'] }, specRef: DATE },
  { name: 'explicit eq', query: 'Patient?birthdate=eq1974-12-25', expect: { ids: ['pat-chalmers'] }, specRef: PREFIX },
  { name: 'a search more precise than the value: not contained', query: 'Patient?birthdate=1974-12-25T10:00:00Z', expect: { ids: [] }, specRef: PREFIX },
  { name: 'ne', query: 'Patient?birthdate=ne1974', expect: { ids: ['pat-baby', 'pat-smith', 'pat-smithson'] }, specRef: PREFIX, note: 'resources without a birthDate do not match ne' },
  {
    name: 'gt: a year or month that ends later',
    query: 'Patient?birthdate=gt1974-12-25',
    expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-baby', 'pat-smith', 'pat-smithson'] },
    specRef: PREFIX,
    note: '1974 and 1974-12 end on 1974-12-31, after the search range',
  },
  { name: 'lt: a year or month that starts earlier', query: 'Patient?birthdate=lt1974-12-25', expect: { ids: ['pat-chalmers-accent', 'pat-windsor'] }, specRef: PREFIX },
  { name: 'ge', query: 'Patient?birthdate=ge1974-12-25', expect: { ids: allBut('Patient', 'pat-text-only', 'pat-anonymous') }, specRef: PREFIX },
  { name: 'le', query: 'Patient?birthdate=le1974-12-25', expect: { ids: ['pat-chalmers', 'pat-chalmers-accent', 'pat-windsor'] }, specRef: PREFIX },
  { name: 'sa', query: 'Patient?birthdate=sa1974-12-25', expect: { ids: ['pat-baby', 'pat-smith', 'pat-smithson'] }, specRef: PREFIX },
  { name: 'eb', query: 'Patient?birthdate=eb1985', expect: { ids: ['pat-chalmers', 'pat-chalmers-accent', 'pat-windsor'] }, specRef: PREFIX },
  { name: 'ap: overlapping ranges, others a decade away', query: 'Patient?birthdate=ap1974-12-25', expect: { ids: ['pat-chalmers', 'pat-chalmers-accent', 'pat-windsor'] }, specRef: PREFIX },
  { name: 'AND of gt and lt', query: 'Patient?birthdate=gt1980&birthdate=lt2000', expect: { ids: ['pat-smithson', 'pat-smith'] }, specRef: `${SEARCH}#combining` },
  { name: 'OR of dates', query: 'Patient?birthdate=1974-12-25,1990-06-15', expect: { ids: ['pat-chalmers', 'pat-smith'] }, specRef: `${SEARCH}#combining` },
  { name: ':missing', query: 'Patient?birthdate:missing=true', expect: { ids: ['pat-text-only', 'pat-anonymous'] }, specRef: MODIFIERS },
  { name: 'death-date', query: 'Patient?death-date=2015-03-01', expect: { ids: ['pat-windsor'] }, specRef: DATE },
  { name: 'Observation date, day', query: 'Observation?date=2023-05-10', expect: { ids: ['obs-glu-100', 'obs-bp-1', 'obs-panel'] }, specRef: DATE },
  { name: 'Observation date, month', query: 'Observation?date=2023-05', expect: { ids: ['obs-glu-100', 'obs-bp-1', 'obs-panel', 'obs-glu-99-6'] }, specRef: DATE },
  { name: 'Observation date, year (Period included)', query: 'Observation?date=2023', expect: { ids: OBS_2023 }, specRef: DATE },
  { name: 'Observation date ne', query: 'Observation?date=ne2023', expect: { ids: allBut('Observation', ...OBS_2023) }, specRef: PREFIX },
  { name: 'Observation date gt, an open Period', query: 'Observation?date=gt2023-12-31', expect: { ids: ['obs-glu-mmol', 'obs-weight', 'obs-note', 'obs-hr'] }, specRef: PREFIX },
  { name: 'Observation date lt, a month and a year starting earlier', query: 'Observation?date=lt2023-05-10', expect: { ids: ['obs-glu-99-6', 'obs-glu-100-04', 'obs-smoking'] }, specRef: PREFIX },
  { name: 'Observation date ge a year', query: 'Observation?date=ge2024', expect: { ids: ['obs-glu-mmol', 'obs-weight', 'obs-note', 'obs-hr'] }, specRef: PREFIX },
  { name: 'Observation date le a day', query: 'Observation?date=le2022-11-20', expect: { ids: ['obs-smoking'] }, specRef: PREFIX },
  { name: 'Observation date sa', query: 'Observation?date=sa2023-06-01', expect: { ids: ['obs-bp-2', 'obs-glu-mmol', 'obs-weight', 'obs-note', 'obs-hr'] }, specRef: PREFIX },
  { name: 'Observation date eb', query: 'Observation?date=eb2023-05-10', expect: { ids: ['obs-smoking'] }, specRef: PREFIX },
  { name: 'a closed Period inside a day', query: 'Observation?date=2023-06-01', expect: { ids: ['obs-glu-120'] }, specRef: DATE },
  { name: 'a closed Period is not inside one second of it', query: 'Observation?date=2023-06-01T10:30:00Z', expect: { ids: [] }, specRef: PREFIX },
  {
    name: 'gt an instant inside a Period',
    query: 'Observation?date=gt2023-06-01T10:30:00Z',
    expect: { ids: ['obs-glu-120', 'obs-glu-100-04', 'obs-bp-2', 'obs-glu-mmol', 'obs-weight', 'obs-note', 'obs-hr'] },
    specRef: PREFIX,
  },
  {
    name: 'lt an instant inside a Period',
    query: 'Observation?date=lt2023-06-01T10:30:00Z',
    expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-glu-100-04', 'obs-glu-120', 'obs-bp-1', 'obs-smoking', 'obs-panel'] },
    specRef: PREFIX,
  },
  { name: 'a Period without end reaches any future date', query: 'Observation?date=ge2099-01-01', expect: { ids: ['obs-weight'] }, specRef: DATE },
  { name: 'a time zone offset in the data', query: 'Observation?date=2024-03-01T11:00:00Z', expect: { ids: ['obs-note'] }, specRef: DATE },
  { name: 'the same wall-clock time in UTC is another instant', query: 'Observation?date=2024-03-01T12:00:00Z', expect: { ids: [] }, specRef: DATE },
  { name: 'a time zone offset in the query', query: 'Observation?date=2024-03-01T12:00:00+01:00', expect: { ids: ['obs-note'] }, specRef: DATE },
  {
    name: 'AND of ge and lt: ranges that overlap the interval',
    query: 'Observation?date=ge2023-05-01&date=lt2023-06-01',
    expect: { ids: ['obs-glu-100', 'obs-bp-1', 'obs-panel', 'obs-glu-99-6', 'obs-glu-100-04'] },
    specRef: PREFIX,
    note: 'the year 2023 of obs-glu-100-04 ends after 2023-05-01 and starts before 2023-06-01',
  },
  { name: 'Observation date:missing', query: 'Observation?date:missing=true', expect: { ids: [] }, specRef: MODIFIERS },
  { name: 'Encounter Period inside a day', query: 'Encounter?date=2023-05-10', expect: { ids: ['enc-1'] }, specRef: DATE },
  { name: 'a day inside a Period is not eq', query: 'Encounter?date=2024-01-16', expect: { ids: [] }, specRef: PREFIX },
  { name: 'a Period of days inside a month', query: 'Encounter?date=2024-01', expect: { ids: ['enc-3'] }, specRef: DATE },
  { name: 'Encounter ge, open Period', query: 'Encounter?date=ge2024-01-01', expect: { ids: ['enc-2', 'enc-3'] }, specRef: PREFIX },
  { name: 'Encounter lt', query: 'Encounter?date=lt2023-06-01', expect: { ids: ['enc-1'] }, specRef: PREFIX },
  { name: 'Encounter gt far future, open Period', query: 'Encounter?date=gt2030-01-01', expect: { ids: ['enc-2'] }, specRef: PREFIX },
  { name: 'Encounter sa', query: 'Encounter?date=sa2023-12-31', expect: { ids: ['enc-3'] }, specRef: PREFIX },
  { name: 'Encounter eb', query: 'Encounter?date=eb2023-06-01', expect: { ids: ['enc-1'] }, specRef: PREFIX },
  { name: 'Encounter date:missing', query: 'Encounter?date:missing=true', expect: { ids: ['enc-4'] }, specRef: MODIFIERS },
  { name: 'Encounter ne, without the one that has no Period', query: 'Encounter?date=ne2023-05-10', expect: { ids: ['enc-2', 'enc-3'] }, specRef: PREFIX, note: 'resources without a value do not match ne' },
  { name: 'Condition onset-date, month inside year', query: 'Condition?onset-date=2015', expect: { ids: ['cond-diabetes'] }, specRef: DATE },
  { name: 'Condition onset-date, month not inside a day', query: 'Condition?onset-date=2015-06-15', expect: { ids: [] }, specRef: PREFIX },
  { name: 'Condition onset-date ge, open onsetPeriod', query: 'Condition?onset-date=ge2020', expect: { ids: ['cond-hypertension', 'cond-flu'] }, specRef: PREFIX },
  { name: 'Condition onset-date lt', query: 'Condition?onset-date=lt2012', expect: { ids: ['cond-hypertension'] }, specRef: PREFIX },
  { name: 'Condition onset-date:missing, onsetString is not a date', query: 'Condition?onset-date:missing=true', expect: { ids: ['cond-asthma'] }, specRef: MODIFIERS },
  {
    name: 'Condition onset-date ap: overlap',
    query: 'Condition?onset-date=ap2015-06-15',
    expect: { ids: ['cond-diabetes', 'cond-hypertension'] },
    specRef: PREFIX,
    note: 'ap includes overlapping ranges; the open onsetPeriod from 2010 overlaps 2015-06-15',
  },
  { name: 'Condition recorded-date', query: 'Condition?recorded-date=2015-07-01', expect: { ids: ['cond-diabetes'] }, specRef: DATE },
  { name: 'Condition abatement-date', query: 'Condition?abatement-date=2024-01-25', expect: { ids: ['cond-flu'] }, specRef: DATE },
];

const numbers: SearchCase[] = [
  { name: 'eq, two decimals', query: 'RiskAssessment?probability=0.31', expect: { ids: ['risk-mid'] }, specRef: NUMBER },
  { name: 'eq, precision of one decimal: [0.25, 0.35)', query: 'RiskAssessment?probability=0.3', expect: { ids: ['risk-mid'] }, specRef: NUMBER },
  { name: 'eq, small value', query: 'RiskAssessment?probability=0.02', expect: { ids: ['risk-low'] }, specRef: NUMBER },
  { name: 'exponent notation: [0.015, 0.025)', query: 'RiskAssessment?probability=2e-2', expect: { ids: ['risk-low'] }, specRef: NUMBER },
  { name: 'an integer search value: [0.5, 1.5)', query: 'RiskAssessment?probability=1', expect: { ids: ['risk-high'] }, specRef: NUMBER },
  { name: 'gt', query: 'RiskAssessment?probability=gt0.5', expect: { ids: ['risk-high'] }, specRef: PREFIX },
  { name: 'lt', query: 'RiskAssessment?probability=lt0.1', expect: { ids: ['risk-low'] }, specRef: PREFIX },
  { name: 'ge includes equal', query: 'RiskAssessment?probability=ge0.31', expect: { ids: ['risk-mid', 'risk-high'] }, specRef: PREFIX },
  { name: 'le includes equal', query: 'RiskAssessment?probability=le0.31', expect: { ids: ['risk-low', 'risk-mid'] }, specRef: PREFIX },
  { name: 'ne', query: 'RiskAssessment?probability=ne0.31', expect: { ids: ['risk-low', 'risk-high'] }, specRef: PREFIX, note: 'risk-none has no probability and does not match ne' },
  { name: 'sa', query: 'RiskAssessment?probability=sa0.5', expect: { ids: ['risk-high'] }, specRef: PREFIX },
  { name: 'eb', query: 'RiskAssessment?probability=eb0.1', expect: { ids: ['risk-low'] }, specRef: PREFIX },
  { name: 'ap', query: 'RiskAssessment?probability=ap0.8', expect: { ids: ['risk-high'] }, specRef: PREFIX },
  { name: ':missing', query: 'RiskAssessment?probability:missing=true', expect: { ids: ['risk-none'] }, specRef: MODIFIERS },
  { name: 'AND of gt and lt', query: 'RiskAssessment?probability=gt0.01&probability=lt0.5', expect: { ids: ['risk-low', 'risk-mid'] }, specRef: `${SEARCH}#combining` },
  { name: 'OR of values', query: 'RiskAssessment?probability=0.02,0.8', expect: { ids: ['risk-low', 'risk-high'] }, specRef: `${SEARCH}#combining` },
];

const GLUCOSE_NEAR_100 = ['obs-glu-100', 'obs-glu-99-6', 'obs-glu-100-04'];

const quantities: SearchCase[] = [
  { name: 'eq 100: [99.5, 100.5) contains 100, 99.6 and 100.04', query: 'Observation?value-quantity=100', expect: { ids: GLUCOSE_NEAR_100 }, specRef: QUANTITY },
  { name: 'eq 99.6: [99.55, 99.65)', query: 'Observation?value-quantity=99.6', expect: { ids: ['obs-glu-99-6'] }, specRef: QUANTITY },
  { name: 'eq 100.04: [100.035, 100.045)', query: 'Observation?value-quantity=100.04', expect: { ids: ['obs-glu-100-04'] }, specRef: QUANTITY },
  {
    name: 'eq 1e2: [95, 105)',
    query: 'Observation?value-quantity=1e2',
    expect: { ids: GLUCOSE_NEAR_100 },
    specRef: NUMBER,
    note: 'the R4 table gives [95 ... 105) for 1e2 although it calls it one significant figure (which would be [50, 150)); the table is followed as written',
  },
  { name: 'gt', query: 'Observation?value-quantity=gt110', expect: { ids: ['obs-glu-120'] }, specRef: PREFIX },
  { name: 'lt, units ignored when none is given', query: 'Observation?value-quantity=lt90', expect: { ids: ['obs-glu-mmol', 'obs-weight', 'obs-hr'] }, specRef: PREFIX },
  { name: 'ge includes equal', query: 'Observation?value-quantity=ge120', expect: { ids: ['obs-glu-120'] }, specRef: PREFIX },
  { name: 'le includes equal', query: 'Observation?value-quantity=le72', expect: { ids: ['obs-glu-mmol', 'obs-weight'] }, specRef: PREFIX },
  { name: 'ap', query: 'Observation?value-quantity=ap100', expect: { ids: GLUCOSE_NEAR_100 }, specRef: PREFIX },
  { name: 'sa', query: 'Observation?value-quantity=sa110', expect: { ids: ['obs-glu-120'] }, specRef: PREFIX },
  { name: 'eb', query: 'Observation?value-quantity=eb80', expect: { ids: ['obs-glu-mmol', 'obs-weight'] }, specRef: PREFIX },
  { name: 'number|system|code', query: `Observation?value-quantity=100|${UCUM}|mg/dL`, expect: { ids: ['obs-glu-100', 'obs-glu-99-6'] }, specRef: QUANTITY },
  { name: 'number||code matches the code or the unit', query: 'Observation?value-quantity=100||mg/dL', expect: { ids: GLUCOSE_NEAR_100 }, specRef: QUANTITY },
  { name: 'another unit does not match', query: `Observation?value-quantity=100|${UCUM}|mmol/L`, expect: { ids: [] }, specRef: QUANTITY },
  { name: 'a value in another unit', query: `Observation?value-quantity=5.5|${UCUM}|mmol/L`, expect: { ids: ['obs-glu-mmol'] }, specRef: QUANTITY },
  { name: 'prefix with ||code', query: 'Observation?value-quantity=gt50||kg', expect: { ids: ['obs-weight'] }, specRef: QUANTITY },
  { name: 'prefix with system|code', query: `Observation?value-quantity=lt90|${UCUM}|/min`, expect: { ids: ['obs-hr'] }, specRef: QUANTITY },
  { name: 'ne with another criterion', query: `Observation?value-quantity=ne100&code=${LOINC}|2339-0`, expect: { ids: ['obs-glu-120'] }, specRef: PREFIX },
  { name: ':missing', query: 'Observation?value-quantity:missing=true', expect: { ids: ['obs-bp-1', 'obs-bp-2', 'obs-smoking', 'obs-note', 'obs-panel'] }, specRef: MODIFIERS },
  { name: 'component-value-quantity', query: 'Observation?component-value-quantity=gt130', expect: { ids: ['obs-bp-2'] }, specRef: QUANTITY },
  { name: 'combo-value-quantity covers value and components', query: 'Observation?combo-value-quantity=88', expect: { ids: ['obs-hr', 'obs-bp-2'] }, specRef: QUANTITY },
];

const uris: SearchCase[] = [
  { name: 'exact uri, several versions', query: 'ValueSet?url=http://example.org/fhir/ValueSet/colors', expect: { ids: ['vs-colors', 'vs-colors-v2'] }, specRef: URI },
  { name: 'uri is not a prefix match', query: 'ValueSet?url=http://example.org/fhir/ValueSet', expect: { ids: [] }, specRef: URI },
  { name: ':below', query: 'ValueSet?url:below=http://example.org/fhir/', expect: { ids: ['vs-colors', 'vs-colors-v2', 'vs-shapes'] }, specRef: URI },
  { name: ':below another base', query: 'ValueSet?url:below=http://loinc.org', expect: { ids: ['vs-loinc'] }, specRef: URI },
  { name: ':above', query: 'ValueSet?url:above=http://example.org/fhir/ValueSet/colors/_history/5', expect: { ids: ['vs-colors', 'vs-colors-v2'] }, specRef: URI },
  { name: 'ValueSet reference (compose.include.system)', query: 'ValueSet?reference=http://loinc.org', expect: { ids: ['vs-loinc'] }, specRef: URI },
  { name: 'url and version together', query: 'ValueSet?url=http://example.org/fhir/ValueSet/colors&version=2.0.0', expect: { ids: ['vs-colors-v2'] }, specRef: URI },
  { name: 'StructureDefinition url', query: 'StructureDefinition?url=http://example.org/StructureDefinition/vip-patient', expect: { ids: ['sd-vip-patient'] }, specRef: URI },
  { name: 'StructureDefinition type', query: 'StructureDefinition?type=Patient', expect: { ids: ['sd-vip-patient', 'sd-research-patient'] }, specRef: URI },
  { name: 'StructureDefinition url:below', query: 'StructureDefinition?url:below=http://example.org/StructureDefinition/', expect: { ids: idsOf('StructureDefinition') }, specRef: URI },
];

const composites: SearchCase[] = [
  { name: 'component code and value bound together', query: `Observation?component-code-value-quantity=${LOINC}|8480-6$gt130`, expect: { ids: ['obs-bp-2'] }, specRef: COMPOSITE },
  { name: 'component equal value', query: `Observation?component-code-value-quantity=${LOINC}|8480-6$120`, expect: { ids: ['obs-bp-1'] }, specRef: COMPOSITE },
  {
    name: 'a value of another component does not match',
    query: `Observation?component-code-value-quantity=${LOINC}|8462-4$120`,
    expect: { ids: [] },
    specRef: COMPOSITE,
    note: 'obs-bp-1 has 120 as systolic, not diastolic',
  },
  { name: 'two separate parameters do not bind', query: `Observation?component-code=${LOINC}|8462-4&component-value-quantity=120`, expect: { ids: ['obs-bp-1'] }, specRef: COMPOSITE },
  { name: 'composite with a quantity unit', query: `Observation?component-code-value-quantity=8480-6$120|${UCUM}|mm[Hg]`, expect: { ids: ['obs-bp-1'] }, specRef: COMPOSITE },
  { name: 'composite with lt', query: 'Observation?component-code-value-quantity=8462-4$lt85', expect: { ids: ['obs-bp-1'] }, specRef: COMPOSITE },
  { name: 'OR of composites', query: 'Observation?component-code-value-quantity=8480-6$gt130,8462-4$lt85', expect: { ids: ['obs-bp-1', 'obs-bp-2'] }, specRef: COMPOSITE },
  { name: 'code-value-quantity', query: `Observation?code-value-quantity=${LOINC}|2339-0$gt110`, expect: { ids: ['obs-glu-120'] }, specRef: COMPOSITE },
  { name: 'code-value-quantity with precision', query: 'Observation?code-value-quantity=2339-0$100', expect: { ids: ['obs-glu-100', 'obs-glu-99-6'] }, specRef: COMPOSITE },
  { name: 'code-value-concept', query: `Observation?code-value-concept=${LOINC}|72166-2$${SNOMED}|8517006`, expect: { ids: ['obs-smoking'] }, specRef: COMPOSITE },
  { name: 'combo-code-value-quantity on a component', query: 'Observation?combo-code-value-quantity=8480-6$135', expect: { ids: ['obs-bp-2'] }, specRef: COMPOSITE },
  { name: 'combo-code-value-quantity on the value', query: 'Observation?combo-code-value-quantity=2339-0$120', expect: { ids: ['obs-glu-120'] }, specRef: COMPOSITE },
];

const combining: SearchCase[] = [
  { name: 'an escaped comma is part of the token', query: 'Organization?identifier=GH\\,77', expect: { ids: ['org-general'] }, specRef: `${SEARCH}#escaping` },
  { name: 'an unescaped comma is OR', query: 'Organization?identifier=GH,77', expect: { ids: [] }, specRef: `${SEARCH}#escaping` },
  { name: 'an escaped pipe is part of the code', query: `Organization?identifier=${ORG_IDS}|GEN\\|01`, expect: { ids: ['org-general'] }, specRef: `${SEARCH}#escaping` },
  { name: 'an escaped comma in a string', query: 'Organization?name=widgets\\, inc', expect: { ids: ['org-widgets'] }, specRef: `${SEARCH}#escaping` },
  { name: 'OR of strings', query: 'Organization?name=widgets,general', expect: { ids: ['org-widgets', 'org-general'] }, specRef: `${SEARCH}#combining` },
  { name: 'an escaped comma in an address line', query: 'Patient?address=12 Main St\\, Apt 4', expect: { ids: ['pat-smith'] }, specRef: `${SEARCH}#escaping` },
  { name: 'the same text unescaped is OR', query: 'Patient?address=12 main st,paris', expect: { ids: ['pat-smith', 'pat-chalmers-accent'] }, specRef: `${SEARCH}#escaping` },
  { name: 'OR of system|code tokens', query: `Organization?identifier=${ORG_IDS}|ACME-001,${ORG_IDS}|ACME-LAB`, expect: { ids: ['org-acme', 'org-acme-lab'] }, specRef: `${SEARCH}#combining` },
  { name: 'AND of two parameters', query: 'Patient?gender=female&active=true', expect: { ids: ['pat-smith'] }, specRef: `${SEARCH}#combining` },
  { name: 'AND of an OR and a prefix', query: 'Patient?gender=female,male&birthdate=lt1980', expect: { ids: ['pat-chalmers', 'pat-chalmers-accent', 'pat-windsor'] }, specRef: `${SEARCH}#combining` },
];

const common: SearchCase[] = [
  { name: '_id', query: 'Patient?_id=pat-chalmers', expect: { ids: ['pat-chalmers'] }, specRef: `${SEARCH}#id` },
  { name: '_id OR', query: 'Patient?_id=pat-chalmers,pat-windsor', expect: { ids: ['pat-chalmers', 'pat-windsor'] }, specRef: `${SEARCH}#id` },
  { name: '_id of nothing', query: 'Patient?_id=pat-nobody', expect: { ids: [] }, specRef: `${SEARCH}#id` },
  { name: '_id AND of two ids', query: 'Patient?_id=pat-chalmers&_id=pat-windsor', expect: { ids: [] }, specRef: `${SEARCH}#id` },
  { name: '_id:not', query: 'Patient?_id:not=pat-chalmers', expect: { ids: allBut('Patient', 'pat-chalmers') }, specRef: `${SEARCH}#id` },
  { name: '_id of another type', query: 'Observation?_id=pat-chalmers', expect: { ids: [] }, specRef: `${SEARCH}#id` },
  { name: '_tag system|code', query: `Patient?_tag=${TAGS}|vip`, expect: { ids: ['pat-chalmers', 'pat-baby'] }, specRef: `${SEARCH}#tag` },
  { name: '_tag code, any system', query: 'Patient?_tag=vip', expect: { ids: ['pat-chalmers', 'pat-baby', 'pat-smith'] }, specRef: `${SEARCH}#tag` },
  { name: '_tag |code, no system', query: 'Patient?_tag=|vip', expect: { ids: ['pat-smith'] }, specRef: `${SEARCH}#tag` },
  { name: '_tag AND', query: `Patient?_tag=${TAGS}|vip&_tag=${TAGS}|newborn`, expect: { ids: ['pat-baby'] }, specRef: `${SEARCH}#tag` },
  { name: '_tag:not', query: `Patient?_tag:not=${TAGS}|vip`, expect: { ids: allBut('Patient', 'pat-chalmers', 'pat-baby') }, specRef: `${SEARCH}#tag` },
  { name: '_tag:missing', query: 'Patient?_tag:missing=true', expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-smithson', 'pat-text-only', 'pat-anonymous'] }, specRef: `${SEARCH}#tag` },
  { name: '_tag on another type', query: 'Observation?_tag=reviewed', expect: { ids: ['obs-glu-100'] }, specRef: `${SEARCH}#tag` },
  { name: '_profile', query: 'Patient?_profile=http://example.org/StructureDefinition/vip-patient', expect: { ids: ['pat-chalmers'] }, specRef: `${SEARCH}#profile` },
  { name: '_profile:below', query: 'Patient?_profile:below=http://example.org/StructureDefinition/', expect: { ids: ['pat-chalmers', 'pat-baby'] }, specRef: `${SEARCH}#profile` },
  { name: '_security system|code', query: `Patient?_security=${CONFIDENTIALITY}|R`, expect: { ids: ['pat-chalmers'] }, specRef: `${SEARCH}#security` },
  { name: '_security OR of codes', query: 'Patient?_security=R,V', expect: { ids: ['pat-chalmers', 'pat-windsor'] }, specRef: `${SEARCH}#security` },
  { name: '_security:not', query: `Patient?_security:not=${CONFIDENTIALITY}|R`, expect: { ids: allBut('Patient', 'pat-chalmers') }, specRef: `${SEARCH}#security` },
  { name: '_source', query: 'Patient?_source=http://example.org/source/ehr-a', expect: { ids: ['pat-chalmers'] }, specRef: `${SEARCH}#all` },
  { name: '_source:below', query: 'Patient?_source:below=http://example.org/source/', expect: { ids: ['pat-chalmers', 'pat-windsor'] }, specRef: `${SEARCH}#all` },
  { name: '_source on another type', query: 'Observation?_source=http://example.org/source/lab', expect: { ids: ['obs-glu-100'] }, specRef: `${SEARCH}#all` },
  { name: '_lastUpdated after a past date', query: 'Patient?_lastUpdated=gt2020-01-01', expect: { ids: idsOf('Patient') }, specRef: `${SEARCH}#lastUpdated` },
  { name: '_lastUpdated before a past date', query: 'Patient?_lastUpdated=lt2020-01-01', expect: { ids: [] }, specRef: `${SEARCH}#lastUpdated` },
  { name: '_lastUpdated in an interval', query: 'Patient?_lastUpdated=ge2020-01-01&_lastUpdated=lt2999-01-01', expect: { ids: idsOf('Patient') }, specRef: `${SEARCH}#lastUpdated` },
  { name: '_lastUpdated eq the exact instant', query: 'Patient?_id=pat-chalmers&_lastUpdated={lastUpdated:Patient/pat-chalmers}', expect: { ids: ['pat-chalmers'] }, specRef: `${SEARCH}#lastUpdated` },
  { name: '_lastUpdated gt the exact instant', query: 'Patient?_id=pat-chalmers&_lastUpdated=gt{lastUpdated:Patient/pat-chalmers}', expect: { ids: [] }, specRef: `${SEARCH}#lastUpdated` },
  { name: '_lastUpdated le the exact instant', query: 'Patient?_id=pat-chalmers&_lastUpdated=le{lastUpdated:Patient/pat-chalmers}', expect: { ids: ['pat-chalmers'] }, specRef: `${SEARCH}#lastUpdated` },
];

const OBS_OF_CHALMERS_NAMES = ['obs-glu-100', 'obs-glu-99-6', 'obs-bp-1', 'obs-panel', 'obs-glu-100-04', 'obs-hr', 'obs-glu-mmol', 'obs-weight', 'obs-note'];
const CHAINING = `${SEARCH}#chaining`;

const chains: SearchCase[] = [
  { name: 'a chain over several target types', query: 'Patient?general-practitioner.name=house', expect: { ids: ['pat-chalmers', 'pat-smith'] }, specRef: CHAINING },
  { name: 'a typed chain', query: 'Patient?general-practitioner:Practitioner.family=cuddy', expect: { ids: ['pat-windsor'] }, specRef: CHAINING, note: 'the identifier-only reference of pat-chalmers-accent cannot be followed' },
  { name: 'a chain to Organization name', query: 'Patient?organization.name=acme', expect: { ids: ['pat-chalmers', 'pat-smith', 'pat-baby'] }, specRef: CHAINING },
  { name: 'two levels', query: 'Patient?organization.partof.name=acme', expect: { ids: ['pat-baby'] }, specRef: CHAINING },
  { name: 'a chain to a token', query: `Patient?organization.identifier=${ORG_IDS}|ACME-001`, expect: { ids: ['pat-chalmers', 'pat-smith'] }, specRef: CHAINING },
  { name: 'Observation subject.name', query: 'Observation?subject.name=chalmers', expect: { ids: OBS_OF_CHALMERS_NAMES }, specRef: CHAINING },
  { name: 'Observation subject:Patient.name', query: 'Observation?subject:Patient.name=chalmers', expect: { ids: OBS_OF_CHALMERS_NAMES }, specRef: CHAINING },
  {
    name: 'a chain to a date',
    query: 'Observation?patient.birthdate=1974',
    expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-bp-1', 'obs-panel', 'obs-glu-120', 'obs-bp-2', 'obs-smoking'] },
    specRef: CHAINING,
  },
  { name: 'a chain AND a local parameter', query: `Observation?patient.gender=female&code=${LOINC}|2339-0`, expect: { ids: ['obs-glu-120'] }, specRef: CHAINING },
  { name: 'two levels from Observation', query: 'Observation?patient.organization.name=general', expect: { ids: ['obs-glu-120', 'obs-bp-2', 'obs-smoking'] }, specRef: CHAINING },
  { name: 'a typed chain on performer', query: 'Observation?performer:Practitioner.family=house', expect: { ids: ['obs-glu-100'] }, specRef: CHAINING },
  { name: 'a chain to an identifier', query: `Observation?subject.identifier=${SSN}|999-33-4444`, expect: { ids: ['obs-glu-mmol', 'obs-weight', 'obs-note'] }, specRef: CHAINING },
  { name: 'Encounter subject:Patient.gender', query: 'Encounter?subject:Patient.gender=female', expect: { ids: ['enc-2', 'enc-3'] }, specRef: CHAINING },
  { name: 'Encounter subject.name', query: 'Encounter?subject.name=chalmers', expect: { ids: ['enc-1', 'enc-3', 'enc-4'] }, specRef: CHAINING },
  { name: 'Condition chain to a maiden name', query: 'Condition?subject:Patient.name=windsor', expect: { ids: ['cond-diabetes', 'cond-asthma', 'cond-hypertension'] }, specRef: CHAINING },
  { name: 'Condition chain AND a token', query: 'Condition?patient.gender=female&clinical-status=active', expect: { ids: ['cond-hypertension'] }, specRef: CHAINING },
  { name: 'Organization partof.name', query: 'Organization?partof.name=acme laboratory', expect: { ids: ['org-acme-micro'] }, specRef: CHAINING },
  { name: 'Organization partof.partof.name', query: 'Organization?partof.partof.name=acme healthcare', expect: { ids: ['org-acme-micro'] }, specRef: CHAINING },
  { name: 'OR inside a chain', query: 'Patient?general-practitioner.name=house,cuddy', expect: { ids: ['pat-chalmers', 'pat-smith', 'pat-windsor'] }, specRef: CHAINING },
  { name: 'RiskAssessment chain', query: 'RiskAssessment?subject:Patient.name=smith', expect: { ids: ['risk-high'] }, specRef: CHAINING },
  { name: 'AND of two chains on one reference', query: 'Observation?subject.name=chalmers&subject.name=smith', expect: { ids: ['obs-glu-mmol', 'obs-weight', 'obs-note'] }, specRef: CHAINING },
];

const HAS = `${SEARCH}#has`;

const reverseChains: SearchCase[] = [
  { name: '_has on a token', query: `Patient?_has:Observation:patient:code=${LOINC}|2339-0`, expect: { ids: ['pat-chalmers', 'pat-windsor'] }, specRef: HAS },
  { name: '_has through subject', query: 'Patient?_has:Observation:subject:status=entered-in-error', expect: { ids: ['pat-baby'] }, specRef: HAS },
  { name: '_has from Condition', query: 'Patient?_has:Condition:patient:clinical-status=active', expect: { ids: ['pat-chalmers', 'pat-windsor'] }, specRef: HAS },
  { name: 'AND of two _has', query: 'Patient?_has:Observation:patient:code=2339-0&_has:Condition:patient:code=44054006', expect: { ids: ['pat-chalmers'] }, specRef: HAS },
  { name: 'nested _has', query: `Patient?_has:Observation:subject:_has:Observation:has-member:code=${LOINC}|24323-8`, expect: { ids: ['pat-chalmers'] }, specRef: HAS },
  { name: '_has to Practitioner through performer', query: `Practitioner?_has:Observation:performer:code=${LOINC}|2339-0`, expect: { ids: ['prac-house', 'prac-cuddy'] }, specRef: HAS },
  { name: '_has to Organization', query: 'Organization?_has:Patient:organization:gender=male', expect: { ids: ['org-acme', 'org-acme-lab'] }, specRef: HAS },
  { name: '_has with a prefix', query: 'Patient?_has:Observation:patient:value-quantity=gt110', expect: { ids: ['pat-windsor'] }, specRef: HAS },
  { name: '_has to Encounter', query: 'Encounter?_has:Condition:encounter:code=6142004', expect: { ids: ['enc-3'] }, specRef: HAS },
  { name: '_has through general-practitioner', query: 'Practitioner?_has:Patient:general-practitioner:gender=female', expect: { ids: ['prac-house', 'prac-cuddy'] }, specRef: HAS },
  { name: '_has with OR', query: `Patient?_has:Observation:patient:code=${LOINC}|29463-7,${LOINC}|72166-2`, expect: { ids: ['pat-smith', 'pat-windsor'] }, specRef: HAS },
  { name: '_has through performer to Patient', query: 'Patient?_has:Observation:performer:value-string=feeling', expect: { ids: ['pat-chalmers'] }, specRef: HAS },
  { name: '_has on a number', query: 'Patient?_has:RiskAssessment:subject:probability=gt0.5', expect: { ids: ['pat-smith'] }, specRef: HAS },
];

const INCLUDE = `${SEARCH}#include`;
const REVINCLUDE = `${SEARCH}#revinclude`;

const includes: SearchCase[] = [
  { name: '_include', query: 'Observation?_id=obs-glu-100&_include=Observation:patient', expect: { ids: ['obs-glu-100'], included: ['Patient/pat-chalmers'] }, specRef: INCLUDE },
  {
    name: '_include of shared targets appears once',
    query: `Observation?code=${LOINC}|2339-0&_include=Observation:subject`,
    expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-glu-120'], included: ['Patient/pat-chalmers', 'Patient/pat-windsor'] },
    specRef: INCLUDE,
  },
  { name: '_include with a target type', query: 'Observation?_id=obs-glu-100&_include=Observation:performer:Practitioner', expect: { ids: ['obs-glu-100'], included: ['Practitioner/prac-house'] }, specRef: INCLUDE },
  { name: '_include of every target type', query: 'Observation?_id=obs-glu-100&_include=Observation:performer', expect: { ids: ['obs-glu-100'], included: ['Practitioner/prac-house', 'Organization/org-acme-lab'] }, specRef: INCLUDE },
  {
    name: '_include=Type:* follows every reference parameter',
    query: 'Observation?_id=obs-glu-100&_include=Observation:*',
    expect: { ids: ['obs-glu-100'], included: ['Patient/pat-chalmers', 'Practitioner/prac-house', 'Organization/org-acme-lab', 'Encounter/enc-1'] },
    specRef: INCLUDE,
  },
  {
    name: '_revinclude',
    query: 'Patient?_id=pat-windsor&_revinclude=Observation:subject',
    expect: { ids: ['pat-windsor'], included: ['Observation/obs-glu-120', 'Observation/obs-bp-2', 'Observation/obs-smoking'] },
    specRef: REVINCLUDE,
  },
  {
    name: 'two _revinclude',
    query: 'Patient?_id=pat-windsor&_revinclude=Observation:patient&_revinclude=Condition:patient',
    expect: { ids: ['pat-windsor'], included: ['Observation/obs-glu-120', 'Observation/obs-bp-2', 'Observation/obs-smoking', 'Condition/cond-hypertension'] },
    specRef: REVINCLUDE,
  },
  { name: '_include one level', query: 'Organization?_id=org-acme-micro&_include=Organization:partof', expect: { ids: ['org-acme-micro'], included: ['Organization/org-acme-lab'] }, specRef: INCLUDE },
  {
    name: '_include:iterate follows included resources',
    query: 'Organization?_id=org-acme-micro&_include:iterate=Organization:partof',
    expect: { ids: ['org-acme-micro'], included: ['Organization/org-acme-lab', 'Organization/org-acme'] },
    specRef: INCLUDE,
  },
  {
    name: 'without :iterate, a second _include applies to matches only',
    query: 'Observation?_id=obs-panel&_include=Observation:has-member&_include=Observation:performer',
    expect: { ids: ['obs-panel'], included: ['Observation/obs-glu-100', 'Observation/obs-glu-99-6'] },
    specRef: INCLUDE,
  },
  {
    name: '_include:iterate applies to resources included by another _include',
    query: 'Observation?_id=obs-panel&_include=Observation:has-member&_include:iterate=Observation:performer',
    expect: {
      ids: ['obs-panel'],
      included: ['Observation/obs-glu-100', 'Observation/obs-glu-99-6', 'Practitioner/prac-house', 'Organization/org-acme-lab', 'Practitioner/prac-cuddy'],
    },
    specRef: INCLUDE,
  },
  {
    name: '_include:iterate applies to _revinclude results',
    query: 'Patient?_id=pat-chalmers&_revinclude=Observation:subject&_include:iterate=Observation:performer',
    expect: {
      ids: ['pat-chalmers'],
      included: [
        'Observation/obs-glu-100',
        'Observation/obs-glu-99-6',
        'Observation/obs-bp-1',
        'Observation/obs-panel',
        'Practitioner/prac-house',
        'Organization/org-acme-lab',
        'Practitioner/prac-cuddy',
      ],
    },
    specRef: INCLUDE,
  },
  {
    name: '_revinclude:iterate',
    query: 'Organization?_id=org-acme&_revinclude:iterate=Organization:partof',
    expect: { ids: ['org-acme'], included: ['Organization/org-acme-lab', 'Organization/org-acme-micro'] },
    specRef: REVINCLUDE,
  },
  {
    name: '_revinclude of patients by their general practitioner',
    query: 'Practitioner?_id=prac-house&_revinclude=Patient:general-practitioner',
    expect: { ids: ['prac-house'], included: ['Patient/pat-chalmers', 'Patient/pat-smith'] },
    specRef: REVINCLUDE,
  },
  {
    name: '_include skips references that cannot be resolved',
    query: 'Patient?gender=female&_include=Patient:general-practitioner',
    expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-smith'], included: ['Practitioner/prac-cuddy', 'Practitioner/prac-house'] },
    specRef: INCLUDE,
  },
  { name: '_include of an Organization general practitioner', query: 'Patient?_id=pat-baby&_include=Patient:general-practitioner', expect: { ids: ['pat-baby'], included: ['Organization/org-acme'] }, specRef: INCLUDE },
  { name: '_include with a target type that is absent', query: 'Patient?_id=pat-baby&_include=Patient:general-practitioner:Practitioner', expect: { ids: ['pat-baby'], included: [] }, specRef: INCLUDE },
  { name: '_include of external and logical references only', query: 'Patient?_id=pat-chalmers-accent&_include=Patient:general-practitioner', expect: { ids: ['pat-chalmers-accent'], included: [] }, specRef: INCLUDE },
  {
    name: '_revinclude through encounter',
    query: 'Encounter?_id=enc-1&_revinclude=Observation:encounter',
    expect: { ids: ['enc-1'], included: ['Observation/obs-glu-100', 'Observation/obs-bp-1'] },
    specRef: REVINCLUDE,
  },
  {
    name: '_include on several matches',
    query: 'Observation?subject=Patient/pat-chalmers&_include=Observation:encounter',
    expect: { ids: ['obs-glu-100', 'obs-glu-99-6', 'obs-bp-1', 'obs-panel'], included: ['Encounter/enc-1'] },
    specRef: INCLUDE,
  },
  {
    name: 'two _include',
    query: 'Condition?_id=cond-flu&_include=Condition:encounter&_include=Condition:subject',
    expect: { ids: ['cond-flu'], included: ['Encounter/enc-3', 'Patient/pat-smith'] },
    specRef: INCLUDE,
  },
  {
    name: '_include=Encounter:*',
    query: 'Encounter?_id=enc-3&_include=Encounter:*',
    expect: { ids: ['enc-3'], included: ['Patient/pat-smith', 'Practitioner/prac-house', 'Organization/org-general'] },
    specRef: INCLUDE,
  },
];

const SORT = `${SEARCH}#sort`;
const FIVE_INSTANTS = 'obs-glu-100,obs-bp-1,obs-glu-mmol,obs-note,obs-hr';

const sorts: SearchCase[] = [
  { name: 'date ascending', query: 'Patient?birthdate=ge1980&_sort=birthdate', expect: { ids: ['pat-smithson', 'pat-smith', 'pat-baby'], ordered: true }, specRef: SORT },
  { name: 'date descending', query: 'Patient?birthdate=ge1980&_sort=-birthdate', expect: { ids: ['pat-baby', 'pat-smith', 'pat-smithson'], ordered: true }, specRef: SORT },
  { name: 'string ascending', query: 'Practitioner?_sort=family', expect: { ids: ['prac-cuddy', 'prac-house', 'prac-wilson'], ordered: true }, specRef: SORT },
  { name: 'string descending', query: 'Practitioner?_sort=-family', expect: { ids: ['prac-wilson', 'prac-house', 'prac-cuddy'], ordered: true }, specRef: SORT },
  { name: 'another string parameter', query: 'Practitioner?_sort=given', expect: { ids: ['prac-house', 'prac-wilson', 'prac-cuddy'], ordered: true }, specRef: SORT },
  {
    name: 'string over name and alias',
    query: 'Organization?_sort=name',
    expect: { ids: ['org-acme', 'org-acme-lab', 'org-acme-micro', 'org-general', 'org-widgets'], ordered: true },
    specRef: SORT,
    note: 'org-acme sorts first by "Acme Healthcare" and by "ACME" alike',
  },
  { name: 'string descending over name and alias', query: 'Organization?_sort=-name', expect: { ids: ['org-widgets', 'org-general', 'org-acme-micro', 'org-acme-lab', 'org-acme'], ordered: true }, specRef: SORT },
  {
    name: 'token then _id descending',
    query: 'Patient?gender=male,female&_sort=gender,-_id',
    expect: { ids: ['pat-windsor', 'pat-smith', 'pat-chalmers-accent', 'pat-smithson', 'pat-chalmers', 'pat-baby'], ordered: true },
    specRef: SORT,
  },
  { name: 'dateTime ascending', query: `Observation?_id=${FIVE_INSTANTS}&_sort=date`, expect: { ids: ['obs-glu-100', 'obs-bp-1', 'obs-glu-mmol', 'obs-note', 'obs-hr'], ordered: true }, specRef: SORT },
  { name: 'dateTime descending', query: `Observation?_id=${FIVE_INSTANTS}&_sort=-date`, expect: { ids: ['obs-hr', 'obs-note', 'obs-glu-mmol', 'obs-bp-1', 'obs-glu-100'], ordered: true }, specRef: SORT },
  { name: 'token then date descending', query: `Observation?_id=${FIVE_INSTANTS}&_sort=status,-date`, expect: { ids: ['obs-hr', 'obs-note', 'obs-glu-mmol', 'obs-bp-1', 'obs-glu-100'], ordered: true }, specRef: SORT },
  { name: 'number descending', query: 'RiskAssessment?probability:missing=false&_sort=-probability', expect: { ids: ['risk-high', 'risk-mid', 'risk-low'], ordered: true }, specRef: SORT },
  { name: 'address-city descending', query: 'Patient?_id=pat-chalmers,pat-windsor,pat-smith&_sort=-address-city', expect: { ids: ['pat-chalmers', 'pat-windsor', 'pat-smith'], ordered: true }, specRef: SORT },
  { name: '_id descending', query: 'Encounter?_sort=-_id', expect: { ids: ['enc-4', 'enc-3', 'enc-2', 'enc-1'], ordered: true }, specRef: SORT },
  { name: '_id ascending', query: 'Patient?_sort=_id', expect: { ids: [...idsOf('Patient')].sort(), ordered: true }, specRef: SORT },
  { name: 'sorted across pages', query: 'Observation?_sort=_id&_count=5', expect: { ids: ALL_OBSERVATIONS_SORTED, ordered: true, followNext: true }, specRef: SORT },
  {
    name: 'system search sorted by _id',
    query: '?_type=Organization,Practitioner&_sort=_id',
    expect: { ids: [...idsOf('Organization').map((id) => `Organization/${id}`), ...idsOf('Practitioner').map((id) => `Practitioner/${id}`)].sort((a, b) => compareIds(a, b)), ordered: true },
    specRef: SORT,
  },
];

/** Orders `Type/id` strings by id, the sort key of `_sort=_id`. */
function compareIds(a: string, b: string): number {
  const [idA, idB] = [a.split('/')[1]!, b.split('/')[1]!];
  return idA < idB ? -1 : idA > idB ? 1 : 0;
}

const SUMMARY = `${SEARCH}#summary`;
const ELEMENTS = `${SEARCH}#elements`;

const paging: SearchCase[] = [
  { name: '_count pages through every match once', query: 'Patient?_count=3', expect: { ids: idsOf('Patient'), followNext: true }, specRef: `${SEARCH}#count` },
  { name: '_count over Observations', query: 'Observation?_count=5', expect: { ids: idsOf('Observation'), followNext: true }, specRef: `${SEARCH}#count` },
  { name: '_count with a filter', query: 'Observation?status=final&_count=2', expect: { ids: allBut('Observation', 'obs-glu-100-04', 'obs-glu-120', 'obs-hr'), followNext: true }, specRef: `${SEARCH}#count` },
  {
    name: '_count in a system search',
    query: '?_type=Patient,Observation&_count=7',
    expect: { ids: [...idsOf('Patient').map((id) => `Patient/${id}`), ...idsOf('Observation').map((id) => `Observation/${id}`)], followNext: true },
    specRef: `${SEARCH}#count`,
  },
  { name: '_count at the maximum', query: 'Patient?_count=1000', expect: { ids: idsOf('Patient') }, specRef: `${SEARCH}#count` },
  { name: '_total=accurate with a smaller page', query: 'Patient?_total=accurate&_count=2&_sort=_id', expect: { ids: ['pat-anonymous', 'pat-baby'], ordered: true, total: 8 }, specRef: `${SEARCH}#total` },
  { name: '_total=accurate with a filter', query: 'Patient?gender=female&_total=accurate', expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-smith'], total: 3 }, specRef: `${SEARCH}#total` },
  { name: '_summary=count: a total and no entries', query: 'Patient?_summary=count', expect: { ids: [], total: 8 }, specRef: SUMMARY },
  { name: '_summary=count with a filter', query: `Observation?code=${LOINC}|2339-0&_summary=count`, expect: { ids: [], total: 3 }, specRef: SUMMARY },
  {
    name: '_summary=true keeps the summary elements only',
    query: 'Patient?_id=pat-chalmers&_summary=true',
    expect: {
      ids: ['pat-chalmers'],
      elements: { present: ['id', 'meta', 'identifier', 'active', 'name', 'telecom', 'gender', 'birthDate', 'deceasedBoolean', 'address', 'managingOrganization'], absent: ['text', 'generalPractitioner'], subsetted: true },
    },
    specRef: SUMMARY,
  },
  { name: '_summary=data removes the narrative', query: 'Patient?_id=pat-chalmers&_summary=data', expect: { ids: ['pat-chalmers'], elements: { present: ['name', 'generalPractitioner'], absent: ['text'], subsetted: true } }, specRef: SUMMARY },
  { name: '_summary=text keeps the narrative', query: 'Patient?_id=pat-chalmers&_summary=text', expect: { ids: ['pat-chalmers'], elements: { present: ['id', 'text'], absent: ['name', 'generalPractitioner'], subsetted: true } }, specRef: SUMMARY },
  { name: '_summary=false is the whole resource', query: 'Patient?_id=pat-chalmers&_summary=false', expect: { ids: ['pat-chalmers'], elements: { present: ['text', 'name', 'generalPractitioner'], subsetted: false } }, specRef: SUMMARY },
  {
    name: '_elements',
    query: 'Patient?_id=pat-chalmers&_elements=gender,birthDate',
    expect: { ids: ['pat-chalmers'], elements: { present: ['id', 'meta', 'gender', 'birthDate'], absent: ['name', 'identifier', 'address', 'text'], subsetted: true } },
    specRef: ELEMENTS,
  },
  {
    name: '_elements on Observation',
    query: 'Observation?_id=obs-glu-100&_elements=code,subject',
    expect: { ids: ['obs-glu-100'], elements: { present: ['code', 'subject'], absent: ['valueQuantity', 'performer', 'effectiveDateTime'], subsetted: true } },
    specRef: ELEMENTS,
  },
  { name: '_elements on several matches', query: 'Patient?gender=female&_elements=gender', expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-smith'], elements: { present: ['gender'], absent: ['name'], subsetted: true } }, specRef: ELEMENTS },
];

const COMPARTMENT = 'compartmentdefinition-patient.html';
const CHALMERS_COMPARTMENT_OBSERVATIONS = ['obs-glu-100', 'obs-glu-99-6', 'obs-bp-1', 'obs-panel', 'obs-note'];

const compartments: SearchCase[] = [
  { name: 'subject or performer', query: 'Patient/pat-chalmers/Observation', expect: { ids: CHALMERS_COMPARTMENT_OBSERVATIONS }, specRef: COMPARTMENT, note: 'obs-note is in it through performer' },
  { name: 'with a criterion', query: `Patient/pat-chalmers/Observation?code=${LOINC}|2339-0`, expect: { ids: ['obs-glu-100', 'obs-glu-99-6'] }, specRef: COMPARTMENT },
  { name: 'Conditions', query: 'Patient/pat-chalmers/Condition', expect: { ids: ['cond-diabetes', 'cond-asthma'] }, specRef: COMPARTMENT },
  { name: 'Encounters', query: 'Patient/pat-windsor/Encounter', expect: { ids: ['enc-2'] }, specRef: COMPARTMENT },
  { name: 'RiskAssessments', query: 'Patient/pat-smith/RiskAssessment', expect: { ids: ['risk-high'] }, specRef: COMPARTMENT },
  { name: 'sorted', query: 'Patient/pat-windsor/Observation?_sort=_id', expect: { ids: ['obs-bp-2', 'obs-glu-120', 'obs-smoking'], ordered: true }, specRef: COMPARTMENT },
  { name: 'an empty compartment', query: 'Patient/pat-text-only/Observation', expect: { ids: [] }, specRef: COMPARTMENT },
  { name: 'paged', query: 'Patient/pat-chalmers/Observation?_count=2', expect: { ids: CHALMERS_COMPARTMENT_OBSERVATIONS, followNext: true }, specRef: COMPARTMENT },
  { name: 'with _include', query: 'Patient/pat-chalmers/Observation?_include=Observation:encounter', expect: { ids: CHALMERS_COMPARTMENT_OBSERVATIONS, included: ['Encounter/enc-1'] }, specRef: COMPARTMENT },
  { name: 'with a date', query: 'Patient/pat-smith/Observation?date=ge2024-02-01', expect: { ids: ['obs-weight', 'obs-note'] }, specRef: COMPARTMENT },
];

const HTTP_SEARCH = 'http.html#search';

const systems: SearchCase[] = [
  {
    name: '_type with a shared parameter',
    query: '?_type=Patient,Practitioner&gender=female',
    expect: { ids: ['Patient/pat-chalmers-accent', 'Patient/pat-windsor', 'Patient/pat-smith', 'Practitioner/prac-cuddy'] },
    specRef: HTTP_SEARCH,
  },
  { name: '_type with name', query: '?_type=Patient,Practitioner&name=house', expect: { ids: ['Practitioner/prac-house'] }, specRef: HTTP_SEARCH },
  {
    name: '_type with a reference',
    query: '?_type=Observation,Condition&patient=pat-windsor',
    expect: { ids: ['Observation/obs-glu-120', 'Observation/obs-bp-2', 'Observation/obs-smoking', 'Condition/cond-hypertension'] },
    specRef: HTTP_SEARCH,
  },
  { name: '_id across all types', query: '?_id=prac-house,org-acme', expect: { ids: ['Practitioner/prac-house', 'Organization/org-acme'] }, specRef: HTTP_SEARCH },
  { name: '_tag across all types', query: `?_tag=${TAGS}|vip`, expect: { ids: ['Patient/pat-chalmers', 'Patient/pat-baby', 'Practitioner/prac-house'] }, specRef: HTTP_SEARCH },
  {
    name: '_type with a uri modifier',
    query: '?_type=ValueSet,StructureDefinition&url:below=http://example.org/',
    expect: {
      ids: ['ValueSet/vs-colors', 'ValueSet/vs-colors-v2', 'ValueSet/vs-shapes', 'StructureDefinition/sd-vip-patient', 'StructureDefinition/sd-research-patient', 'StructureDefinition/sd-plain-observation'],
    },
    specRef: HTTP_SEARCH,
  },
];

const posts: SearchCase[] = [
  { name: 'form body, two parameters', method: 'POST', query: 'Patient?name=chalmers&gender=male', expect: { ids: ['pat-chalmers', 'pat-baby'] }, specRef: HTTP_SEARCH },
  { name: 'form body with a prefix', method: 'POST', query: `Observation?code=${LOINC}|2339-0&value-quantity=gt110`, expect: { ids: ['obs-glu-120'] }, specRef: HTTP_SEARCH },
  {
    name: 'form body with _revinclude',
    method: 'POST',
    query: 'Patient?_id=pat-windsor&_revinclude=Observation:subject',
    expect: { ids: ['pat-windsor'], included: ['Observation/obs-glu-120', 'Observation/obs-bp-2', 'Observation/obs-smoking'] },
    specRef: HTTP_SEARCH,
  },
  { name: 'form body, paged with next links', method: 'POST', query: 'Observation?_count=5', expect: { ids: idsOf('Observation'), followNext: true }, specRef: HTTP_SEARCH },
  { name: 'form body with an escaped comma', method: 'POST', query: 'Organization?identifier=GH\\,77', expect: { ids: ['org-general'] }, specRef: HTTP_SEARCH },
  { name: 'form body with a bad value', method: 'POST', query: 'Patient?birthdate=notadate', expect: { status: 400, mentions: ['birthdate'] }, specRef: HTTP_SEARCH },
];

const STRICT = { prefer: 'handling=strict' };

const handling: SearchCase[] = [
  { name: 'an unknown parameter is ignored and reported (lenient)', query: 'Patient?foo=bar', expect: { ids: idsOf('Patient'), ignored: 'foo' }, specRef: ERRORS },
  { name: 'an unknown parameter beside a known one', query: 'Patient?gender=female&foo=bar', expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-smith'], ignored: 'foo' }, specRef: ERRORS },
  { name: 'an unknown parameter with handling=strict', query: 'Patient?foo=bar', headers: STRICT, expect: { status: 400, mentions: ['foo'] }, specRef: ERRORS },
  { name: 'known parameters with handling=strict', query: 'Patient?gender=female', headers: STRICT, expect: { ids: ['pat-chalmers-accent', 'pat-windsor', 'pat-smith'] }, specRef: ERRORS },
];

const bad = (name: string, query: string, ...mentions: string[]): SearchCase => ({ name, query, expect: { status: 400, mentions }, specRef: ERRORS });

const badInput: SearchCase[] = [
  bad('a date that is not a date', 'Patient?birthdate=notadate', 'birthdate'),
  bad('month 13', 'Patient?birthdate=1974-13', 'birthdate'),
  bad('hour 25', 'Observation?date=2023-05-10T25:00:00Z', 'date'),
  bad('a prefix without a value', 'Patient?birthdate=ap', 'birthdate'),
  bad('a quantity that is not a number', 'Observation?value-quantity=abc', 'value-quantity'),
  bad('a quantity prefix without a number', 'Observation?value-quantity=gt', 'value-quantity'),
  bad('a number that is not a number', 'RiskAssessment?probability=high', 'probability'),
  bad('an unknown modifier', 'Patient?name:foo=x', 'name'),
  bad(':exact on a token', 'Patient?gender:exact=male', 'gender'),
  bad(':contains on a token', 'Patient?active:contains=true', 'active'),
  bad(':exact on a quantity', 'Observation?value-quantity:exact=100', 'value-quantity'),
  bad('a chain through a token', 'Patient?gender.name=x', 'gender'),
  bad('a chain through a CodeableConcept', 'Observation?code.display=x', 'code'),
  bad('_sort on an unknown parameter', 'Patient?_sort=nonexistent', '_sort', 'nonexistent'),
  bad('_count above the maximum (1000)', 'Patient?_count=1001', '_count'),
  bad('_count that is not a number', 'Patient?_count=abc', '_count'),
  bad('a negative _count', 'Patient?_count=-1', '_count'),
  bad('an unknown _summary', 'Patient?_summary=bogus', '_summary'),
  bad('an unknown _total', 'Patient?_total=bogus', '_total'),
  bad('a composite with one component', 'Observation?component-code-value-quantity=8480-6', 'component-code-value-quantity'),
  bad('a malformed _has', 'Patient?_has:Observation=x', '_has'),
  bad('a malformed _include', 'Patient?_include=Observation', '_include'),
  bad('an unknown type in _type', '?_type=Unicorn', '_type', 'Unicorn'),
];

export const CASE_GROUPS: readonly CaseGroup[] = [
  { category: 'string', cases: strings },
  { category: 'token', cases: tokens },
  { category: 'reference', cases: references },
  { category: 'date', cases: dates },
  { category: 'number', cases: numbers },
  { category: 'quantity', cases: quantities },
  { category: 'uri', cases: uris },
  { category: 'composite', cases: composites },
  { category: 'escaping and combining', cases: combining },
  { category: '_id, _lastUpdated, _tag, _profile, _security, _source', cases: common },
  { category: 'chaining', cases: chains },
  { category: '_has', cases: reverseChains },
  { category: '_include and _revinclude', cases: includes },
  { category: '_sort', cases: sorts },
  { category: '_count, _total, _summary, _elements', cases: paging },
  { category: 'compartment search', cases: compartments },
  { category: 'system search', cases: systems },
  { category: 'POST _search', cases: posts },
  { category: 'unknown parameters', cases: handling },
  { category: 'bad input', cases: badInput },
];

export const CASES: readonly SearchCase[] = CASE_GROUPS.flatMap((group) => group.cases);
