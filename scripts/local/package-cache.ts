/**
 * A cache of unpacked npm tarballs outside the repository, for packages we need files from but
 * must not install: `amplify-dynamodb-simulator` ships the DynamoDB Local jar but depends on
 * ~350 MB of Amplify CLI; `hl7.fhir.r4.examples` is test data, not code.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `$FHIR_CACHE_DIR`, or `~/.cache/fhir-serverless`. */
export function cacheDir(): string {
  return process.env.FHIR_CACHE_DIR || join(homedir(), '.cache', 'fhir-serverless');
}

/**
 * Returns the directory holding the unpacked contents of `name@version` (what the tarball keeps
 * under `package/`), fetching it with `npm pack` the first time.
 *
 * Safe when several processes race (parallel test workers, `npm test` next to `npm start`): each
 * unpacks into its own temporary directory and renames it into place; the rename is atomic, so
 * the final directory is either absent or complete, and a loser of the race discards its copy.
 */
export async function cachedPackage(name: string, version: string): Promise<string> {
  const packagesDir = join(cacheDir(), 'packages');
  // Scoped names contain '/', which must not become a sub-directory.
  const target = join(packagesDir, `${name.replace('/', '+')}@${version}`);
  if (existsSync(target)) {
    return target;
  }
  await mkdir(packagesDir, { recursive: true });
  const workDir = await mkdtemp(join(packagesDir, '.incoming-'));
  try {
    const unpacked = await fetchAndUnpack(`${name}@${version}`, workDir);
    await renameUnlessPresent(unpacked, target);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return target;
}

async function fetchAndUnpack(spec: string, workDir: string): Promise<string> {
  try {
    await run('npm', ['pack', spec, '--pack-destination', workDir, '--silent'], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    throw new Error(`Could not fetch ${spec} with "npm pack" (is the npm registry reachable?): ${(error as Error).message}`);
  }
  const [tarball] = (await readdir(workDir)).filter((file) => file.endsWith('.tgz'));
  if (!tarball) {
    throw new Error(`"npm pack ${spec}" produced no tarball`);
  }
  const unpacked = join(workDir, 'unpacked');
  await mkdir(unpacked);
  // npm tarballs keep everything under one top directory (usually `package/`); drop it.
  await run('tar', ['-xzf', join(workDir, tarball), '-C', unpacked, '--strip-components=1']);
  return unpacked;
}

async function renameUnlessPresent(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Another process renamed its complete copy into place first.
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(to)) {
      return;
    }
    throw error;
  }
}
