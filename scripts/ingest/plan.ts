/**
 * What an ingest sends: the folder turned into units, each one transaction Bundle POSTed to the
 * server's base URL, and the order they go in.
 *
 * - `*.json`: every file is a Bundle sent as it is, one unit per file (never split: a
 *   transaction's `urn:uuid:` references only resolve inside it).
 * - `*.ndjson` (Bulk Data export: one resource per line, one type per file): each file is cut into
 *   chunks of consecutive lines, each sent as a transaction of `PUT Type/id` entries, so loading
 *   again updates rather than duplicates.
 *
 * A plan holds hashes and byte ranges, never bodies: a unit reads its bytes when it is sent.
 */
import { createHash } from 'node:crypto';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

/**
 * NDJSON types loaded first, each type finished before the next starts; every other type follows,
 * all together. Other resources point at these by conditional references (in the shared bulk data,
 * `Organization?`, `Location?` and `Practitioner?identifier=…` from Encounter, Procedure, …), which
 * the server resolves by searching when the transaction runs, so their targets must be committed
 * by then. Among themselves, each may point at those before it: Location at Organization,
 * PractitionerRole at Organization, Location and Practitioner, Patient at Organization and
 * Practitioner. Literal references (`Patient/123`) need no order, since the server does not
 * require their target to exist; Patient still goes first so a reader never meets an orphan.
 */
const NDJSON_TYPE_ORDER: readonly string[] = ['Organization', 'Location', 'Practitioner', 'PractitionerRole', 'Patient'];

/** Well under the server's default 5 MB request limit, whatever the chunk size. */
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

export interface Unit {
  /** `Alice.json` or `Encounter.000.ndjson:51-100` (file and line range): its name in the state file and in reports. */
  readonly name: string;
  /** SHA-256 of the unit's bytes: a unit already loaded with the same hash is skipped. */
  readonly sha256: string;
  /** Entries of its Bundle. */
  readonly resources: number;
  /** The Bundle to POST, or why the unit cannot be sent (a malformed NDJSON line). */
  bundle(): Promise<{ readonly body: string } | { readonly error: string }>;
}

export interface Plan {
  readonly format: 'bundles' | 'ndjson';
  readonly files: number;
  /** Run one after the other; the units of a phase run concurrently. */
  readonly phases: readonly (readonly Unit[])[];
}

export async function planIngest(folder: string, chunkSize: number): Promise<Plan> {
  const names = (await readdir(folder)).sort();
  const bundleFiles = names.filter((name) => name.endsWith('.json'));
  const ndjsonFiles = names.filter((name) => name.endsWith('.ndjson'));
  if (bundleFiles.length > 0 && ndjsonFiles.length > 0) {
    throw new Error(`${folder} holds both *.json Bundles and *.ndjson files: load them from separate folders`);
  }
  if (ndjsonFiles.length > 0) {
    return { format: 'ndjson', files: ndjsonFiles.length, phases: await ndjsonPhases(folder, ndjsonFiles, chunkSize) };
  }
  if (bundleFiles.length > 0) {
    const units: Unit[] = [];
    for (const name of bundleFiles) {
      units.push(await bundleFileUnit(folder, name));
    }
    return { format: 'bundles', files: bundleFiles.length, phases: [units] };
  }
  throw new Error(`No *.json Bundles or *.ndjson files in ${folder}`);
}

async function bundleFileUnit(folder: string, name: string): Promise<Unit> {
  const path = join(folder, name);
  const bytes = await readFile(path);
  return {
    name,
    sha256: sha256(bytes),
    resources: entryCount(bytes),
    bundle: async () => ({ body: await readFile(path, 'utf8') }),
  };
}

/** Entries of a Bundle file; 0 when it is not one (the server says what is wrong with it). */
function entryCount(bytes: Buffer): number {
  try {
    const entry = (JSON.parse(bytes.toString('utf8')) as Bundle).entry;
    return Array.isArray(entry) ? entry.length : 0;
  } catch {
    return 0;
  }
}

// ---- NDJSON ----------------------------------------------------------------------------------

interface NdjsonFile {
  /** The type of its first well-formed line, which Bulk Data makes the type of every line. */
  readonly resourceType: string | undefined;
  readonly chunks: Unit[];
}

async function ndjsonPhases(folder: string, names: readonly string[], chunkSize: number): Promise<Unit[][]> {
  const files: NdjsonFile[] = [];
  // One file in memory at a time.
  for (const name of names) {
    files.push(await ndjsonFile(folder, name, chunkSize));
  }
  const rank = ({ resourceType }: NdjsonFile) => {
    const index = resourceType === undefined ? -1 : NDJSON_TYPE_ORDER.indexOf(resourceType);
    return index === -1 ? NDJSON_TYPE_ORDER.length : index;
  };
  const phases: Unit[][] = Array.from({ length: NDJSON_TYPE_ORDER.length + 1 }, () => []);
  for (const file of files) {
    phases[rank(file)]!.push(...file.chunks);
  }
  return phases.filter((phase) => phase.length > 0);
}

interface Line {
  /** 1-based. */
  readonly number: number;
  readonly start: number;
  readonly end: number;
}

/** Cuts a file into chunks of `chunkSize` non-blank lines (fewer when the bytes would pass MAX_CHUNK_BYTES). */
async function ndjsonFile(folder: string, name: string, chunkSize: number): Promise<NdjsonFile> {
  const path = join(folder, name);
  const bytes = await readFile(path);
  const lines = nonBlankLines(bytes);
  const resourceType = firstResourceType(bytes, lines);
  const chunks: Unit[] = [];
  let chunk: Line[] = [];
  for (const line of lines) {
    if (chunk.length === chunkSize || (chunk.length > 0 && line.end - chunk[0]!.start > MAX_CHUNK_BYTES)) {
      chunks.push(ndjsonChunk(path, name, bytes, chunk, resourceType));
      chunk = [];
    }
    chunk.push(line);
  }
  if (chunk.length > 0) {
    chunks.push(ndjsonChunk(path, name, bytes, chunk, resourceType));
  }
  return { resourceType, chunks };
}

function nonBlankLines(bytes: Buffer): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (let number = 1; start < bytes.length; number++) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    if (bytes.subarray(start, end).toString('utf8').trim() !== '') {
      lines.push({ number, start, end });
    }
    start = end + 1;
  }
  return lines;
}

function firstResourceType(bytes: Buffer, lines: readonly Line[]): string | undefined {
  for (const line of lines) {
    const parsed = parseLine(bytes.subarray(line.start, line.end));
    if ('resource' in parsed) {
      return parsed.resource.resourceType;
    }
  }
  return undefined;
}

function ndjsonChunk(path: string, name: string, fileBytes: Buffer, lines: readonly Line[], fileType: string | undefined): Unit {
  const first = lines[0]!;
  const last = lines.at(-1)!;
  return {
    name: `${name}:${first.number}-${last.number}`,
    sha256: sha256(fileBytes.subarray(first.start, last.end)),
    resources: lines.length,
    bundle: async () => {
      const bytes = await readRange(path, first.start, last.end);
      const parsed = lines.map((line) => ({ number: line.number, parsed: parseLine(bytes.subarray(line.start - first.start, line.end - first.start)) }));
      return putTransaction(parsed, fileType);
    },
  };
}

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const file = await open(path);
  try {
    const { buffer, bytesRead } = await file.read({ buffer: Buffer.alloc(end - start), position: start });
    if (bytesRead !== buffer.length) {
      throw new Error(`${path} changed during the ingest: start it again`);
    }
    return buffer;
  } finally {
    await file.close();
  }
}

type ParsedLine = { readonly resource: Resource & { id: string } } | { readonly error: string };

function parseLine(bytes: Buffer): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { error: `not JSON (${(error as Error).message})` };
  }
  const resource = value as Partial<Resource> | null;
  if (typeof resource?.resourceType !== 'string' || typeof resource.id !== 'string' || resource.id === '') {
    return { error: 'not a resource with a resourceType and an id' };
  }
  return { resource: resource as Resource & { id: string } };
}

/** One `PUT Type/id` entry per line, or every line's problem. */
function putTransaction(lines: readonly { readonly number: number; readonly parsed: ParsedLine }[], fileType: string | undefined): { body: string } | { error: string } {
  const problems: string[] = [];
  const entry: BundleEntry[] = [];
  for (const { number, parsed } of lines) {
    if ('error' in parsed) {
      problems.push(`line ${number}: ${parsed.error}`);
    } else if (parsed.resource.resourceType !== fileType) {
      problems.push(`line ${number}: a ${parsed.resource.resourceType} in a file of ${fileType} (Bulk Data files hold one type each)`);
    } else {
      entry.push({ resource: parsed.resource, request: { method: 'PUT', url: `${parsed.resource.resourceType}/${parsed.resource.id}` } });
    }
  }
  if (problems.length > 0) {
    return { error: problems.join('; ') };
  }
  return { body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry } satisfies Bundle) };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
