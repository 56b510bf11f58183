/**
 * The ingest state file: the units already loaded, per target (server, tenant and folder), each
 * with the SHA-256 of its bytes. A unit is skipped only when its name and hash both match, so an
 * edited file (or a chunk cut differently) is sent again. Rewritten atomically after every
 * completed unit, so an interrupted run loses at most the units in flight.
 *
 *   { "version": 1, "targets": { "<url> tenant=<t> <folder>": { "Encounter.000.ndjson:1-50": "<sha256>" } } }
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

interface StateFile {
  readonly version: 1;
  readonly targets: Record<string, Record<string, string>>;
}

export interface IngestState {
  isLoaded(name: string, sha256: string): boolean;
  /** Records a loaded unit and saves the file. */
  recordLoaded(name: string, sha256: string): Promise<void>;
}

/** The state of `target` in `path`; `restart` forgets what it says about that target (other targets are kept). */
export async function openState(path: string, target: string, restart: boolean): Promise<IngestState> {
  const file = await readState(path);
  const loaded: Record<string, string> = restart ? {} : { ...file.targets[target] };
  const targets = { ...file.targets, [target]: loaded };
  let saving = Promise.resolve();
  return {
    isLoaded: (name, sha256) => loaded[name] === sha256,
    recordLoaded(name, sha256) {
      loaded[name] = sha256;
      // Concurrent units finish in any order: one write at a time, each of the latest content.
      saving = saving.then(() => saveState(path, { version: 1, targets }));
      return saving;
    },
  };
}

async function readState(path: string): Promise<StateFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { version: 1, targets: {} };
    }
    throw error;
  }
  let state: Partial<StateFile> | null = null;
  try {
    state = JSON.parse(text) as Partial<StateFile> | null;
  } catch {
    // Reported below with what to do about it.
  }
  if (state?.version !== 1 || typeof state.targets !== 'object' || state.targets === null) {
    throw new Error(`${path} is not an ingest state file (version 1); delete it or pass another --state`);
  }
  return state as StateFile;
}

async function saveState(path: string, state: StateFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 1)}\n`);
  await rename(temporary, path);
}
