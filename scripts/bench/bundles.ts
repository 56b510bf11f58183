/**
 * Part 1: every handler bundled as it is deployed, its size, what fills it, and its cold start in
 * fresh Node processes: the import alone, and the import followed by real requests against
 * DynamoDB Local (the FHIR definitions load lazily, on the first request that needs them).
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { FUNCTIONS } from '../../functions/routes.js';
import type { ColdStart } from './cold-process.js';
import type { Invocation } from './metered-api.js';
import { type Summary, summarize } from './stats.js';

export interface PackageShare {
  /** npm package, or `(repository)` for this repository's own code. */
  readonly name: string;
  readonly bytes: number;
  /** The shortest import chain from the handler to the package. */
  readonly importedVia: readonly string[];
}

export interface BundleFigures {
  readonly module: string;
  /** The entry file, relative to the repository. */
  readonly path: string;
  /** What the import loads: the entry and the chunks it imports statically. */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** The chunks only a dynamic `import()` loads, when a request first needs them (the `$export` queue, `$analytics`'s clients, the SDK's other credential providers). */
  readonly onDemandBytes: number;
  /** `await import(bundle)` in a fresh process. */
  readonly coldImportMs: Summary;
  readonly largestPackages: readonly PackageShare[];
}

export interface FirstInvocationFigures {
  readonly name: string;
  readonly module: string;
  readonly importMs: Summary;
  readonly firstRequestMs: Summary;
  readonly secondRequestMs: Summary;
}

export interface BundlesOptions {
  /** Fresh processes per bundle for the import alone. */
  readonly coldRuns: number;
  /** Fresh processes per recorded invocation. */
  readonly invocationRuns: number;
  /** Requests recorded in this process (part 2), replayed against the bundles. */
  readonly invocations: ReadonlyMap<string, Invocation>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_DIR = join(ROOT, '.build', 'bench');
const BUNDLES_DIR = join(BENCH_DIR, 'bundles');
const COLD_PROCESS = join(BENCH_DIR, 'cold-process.mjs');
const LARGEST_PACKAGES = 5;
const CHILD_TIMEOUT_MS = 60_000;
const REPOSITORY = '(repository)';

/**
 * What SST's Node runtime does when it deploys a function (`pkg/runtime/node/build.go`: ESM,
 * minified, kept names, no source map), with the target pinned to the Lambda runtime, and code
 * splitting as `infra/api.ts` asks for it (`nodejs.splitting`): a dynamic `import()` becomes a
 * file of its own, loaded when first reached rather than parsed with the entry.
 */
const DEPLOYED_BUILD: BuildOptions = {
  bundle: true,
  splitting: true,
  outExtension: { '.js': '.mjs' },
  minify: true,
  keepNames: true,
  treeShaking: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // The AWS SDK ships CommonJS as `main` and ESM as `module`; only the ESM build tree-shakes.
  mainFields: ['module', 'main'],
  // SST's ESM banner: CommonJS code bundled into ESM still finds require, __filename, __dirname.
  banner: {
    js: [
      "import { createRequire as topLevelCreateRequire } from 'module';",
      'const require = topLevelCreateRequire(import.meta.url);',
      "import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from 'url';",
      'const __filename = topLevelFileUrlToPath(import.meta.url);',
      "const __dirname = topLevelFileUrlToPath(new topLevelURL('.', import.meta.url));",
    ].join('\n'),
  },
  metafile: true,
  logLevel: 'warning',
  absWorkingDir: ROOT,
};

export async function benchBundles(options: BundlesOptions): Promise<{ bundles: BundleFigures[]; firstInvocations: FirstInvocationFigures[] }> {
  await compileColdProcess();
  const built = await Promise.all(Object.values(FUNCTIONS).map((spec) => bundleHandler(spec.module)));
  console.error(`cold imports: ${options.coldRuns} fresh processes per bundle`);
  const importMs = coldImports(built.map((bundle) => bundle.module), options.coldRuns);
  const bundles = built.map(({ largestPackages, ...bundle }) => ({ ...bundle, coldImportMs: summarize(importMs.get(bundle.module)!), largestPackages }));
  const firstInvocations = [...options.invocations].map(([name, invocation]) => {
    console.error(`first invocation ${name}: ${options.invocationRuns} fresh processes`);
    return firstInvocation(name, invocation, options.invocationRuns);
  });
  return { bundles, firstInvocations };
}

async function compileColdProcess(): Promise<void> {
  await build({ entryPoints: [join(ROOT, 'scripts/bench/cold-process.ts')], outfile: COLD_PROCESS, platform: 'node', target: 'node22', format: 'esm', logLevel: 'warning' });
}

function bundlePath(module: string): string {
  return join(BUNDLES_DIR, module, 'index.mjs');
}

/** The outputs an import of `entry` loads: it and, transitively, what it imports statically. */
function loadedAtImport(metafile: Metafile, entry: string): string[] {
  const loaded = [entry];
  for (let i = 0; i < loaded.length; i++) {
    for (const imported of metafile.outputs[loaded[i]!]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external && !loaded.includes(imported.path)) {
        loaded.push(imported.path);
      }
    }
  }
  return loaded;
}

async function bundleHandler(module: string): Promise<Omit<BundleFigures, 'coldImportMs'>> {
  const entry = `functions/${module}.ts`;
  const path = bundlePath(module);
  await rm(join(BUNDLES_DIR, module), { recursive: true, force: true });
  const { metafile } = await build({ ...DEPLOYED_BUILD, entryPoints: { index: entry }, outdir: join(BUNDLES_DIR, module) });
  // Kept for `esbuild --analyze`-style digging (https://esbuild.github.io/analyze/).
  await writeFile(join(BUNDLES_DIR, module, 'meta.json'), JSON.stringify(metafile));
  const loaded = loadedAtImport(metafile!, relative(ROOT, path));
  const code = Buffer.concat(await Promise.all(loaded.map((output) => readFile(join(ROOT, output)))));
  const allBytes = Object.values(metafile!.outputs).reduce((sum, output) => sum + output.bytes, 0);
  return {
    module,
    path: relative(ROOT, path),
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    onDemandBytes: allBytes - code.length,
    largestPackages: largestPackages(metafile!, entry, loaded),
  };
}

/** Round-robin over the bundles, so that machine noise spreads evenly across them. */
function coldImports(modules: readonly string[], runs: number): Map<string, number[]> {
  const samples = new Map(modules.map((module) => [module, [] as number[]]));
  for (let run = 0; run < runs; run++) {
    for (const module of modules) {
      samples.get(module)!.push(coldStart(module).importMs);
    }
  }
  return samples;
}

function firstInvocation(name: string, invocation: Invocation, runs: number): FirstInvocationFigures {
  const starts = Array.from({ length: runs }, () => coldStart(invocation.module, invocation));
  for (const start of starts) {
    const failed = start.requests.find((request) => request.status >= 400);
    if (failed) {
      throw new Error(`${name} in a fresh process answered HTTP ${failed.status}:\n${start.log.join('\n')}`);
    }
  }
  return {
    name,
    module: invocation.module,
    importMs: summarize(starts.map((start) => start.importMs)),
    firstRequestMs: summarize(starts.map((start) => start.requests[0]!.ms)),
    secondRequestMs: summarize(starts.map((start) => start.requests[1]!.ms)),
  };
}

/**
 * Runs `cold-process.mjs` on a bundle with the Node running this script; the environment carries
 * the handler configuration. `log` is what the handler printed.
 */
function coldStart(module: string, invocation?: Invocation): ColdStart & { log: string[] } {
  const input = invocation ? JSON.stringify({ event: invocation.event, context: invocation.context }) : '';
  const child = spawnSync(process.execPath, [COLD_PROCESS, bundlePath(module)], { input, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  const lines = (child.stdout ?? '').trim().split('\n');
  if (child.status !== 0) {
    throw new Error(`Cold start of the ${module} bundle failed (exit ${child.status}, ${child.signal ?? 'no signal'}):\n${child.stderr}\n${child.stdout}`);
  }
  return { ...(JSON.parse(lines.at(-1)!) as ColdStart), log: lines.slice(0, -1) };
}

/** The packages contributing the most bytes to what the import loads (`outputs`), each with the chain that pulls it in. */
function largestPackages(metafile: Metafile, entry: string, outputs: readonly string[]): PackageShare[] {
  const bytes = new Map<string, number>();
  for (const output of outputs) {
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[output]!.inputs)) {
      const name = packageOf(input);
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
    }
  }
  const importers = shortestImporters(metafile, entry);
  return [...bytes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, LARGEST_PACKAGES)
    .map(([name, size]) => ({ name, bytes: size, importedVia: name === REPOSITORY ? [] : importChain(name, importers, entry) }));
}

function packageOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input);
  return match ? match[1]! : REPOSITORY;
}

/** Breadth-first from the entry: each input mapped to the input that first imports it. */
function shortestImporters(metafile: Metafile, entry: string): Map<string, string | undefined> {
  const importers = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  for (let input = queue.shift(); input !== undefined; input = queue.shift()) {
    for (const imported of metafile.inputs[input]?.imports ?? []) {
      if (!imported.external && !importers.has(imported.path)) {
        importers.set(imported.path, input);
        queue.push(imported.path);
      }
    }
  }
  return importers;
}

/** `functions/read.ts → core/fhir/interactions.ts → @medplum/core`: repository files, then packages. */
function importChain(name: string, importers: Map<string, string | undefined>, entry: string): string[] {
  // Map order is breadth-first order, so the first file of the package has the shortest chain.
  let input = [...importers.keys()].find((candidate) => candidate !== entry && packageOf(candidate) === name);
  const chain: string[] = [];
  for (; input !== undefined; input = importers.get(input)) {
    const step = packageOf(input) === REPOSITORY ? input : packageOf(input);
    if (chain[0] !== step) {
      chain.unshift(step);
    }
  }
  return chain;
}
