/**
 * The architecture as rules on imports, read from the source: core/ is layered, lowest first, and
 * a module imports only its own layer or lower ones; core/ stays free of the Lambda runtime
 * (functions/, scripts/, `aws-lambda` types); and no import cycle exists in core/, functions/ or
 * scripts/. Type-only imports count: they tie the modules together just the same.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHECKED_DIRS = ['core', 'functions', 'scripts'];

/**
 * core/'s layers, lowest first: an entry ending in '/' is a folder. Anything under core/ named by
 * none of them (the router, the wiring, whatever is newer) is the top layer, above them all.
 */
const CORE_LAYERS: readonly (readonly string[])[] = [
  ['core/errors.ts', 'core/tenant.ts', 'core/config.ts', 'core/map-limited.ts'],
  ['core/r4/'],
  ['core/storage/'],
  ['core/search/', 'core/audit/', 'core/events/', 'core/auth/'],
  ['core/fhir/'],
  ['core/stream/', 'core/analytics/', 'core/export/'],
];
const TOP_LAYER = CORE_LAYERS.length;

/** Packages core/ must not import: it is the part that runs outside a Lambda too. */
const FORBIDDEN_IN_CORE = ['aws-lambda'];

function coreLayer(file: string): number {
  const layer = CORE_LAYERS.findIndex((entries) => entries.some((entry) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry)));
  return layer === -1 ? TOP_LAYER : layer;
}

/** What a module imports, as written: static, type-only, re-exports and `import('…')` with a literal. */
function importSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((reference) => reference.fileName);
}

interface Module {
  /** Repository-relative, with '/'. */
  readonly file: string;
  /** Repository-relative .ts files it imports by a relative path (`./x.js` is `x.ts`). */
  readonly imports: readonly string[];
  /** Bare specifiers: packages and `node:` modules. */
  readonly packages: readonly string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      return entry.name === 'node_modules' || entry.name.startsWith('.') ? [] : sourceFiles(path);
    }
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function readModule(file: string): Module {
  const imports: string[] = [];
  const packages: string[] = [];
  for (const specifier of importSpecifiers(readFileSync(join(ROOT, file), 'utf8'))) {
    if (specifier.startsWith('.')) {
      const target = relative(ROOT, join(ROOT, dirname(file), specifier)).split('\\').join('/');
      imports.push(target.replace(/\.js$/, '.ts'));
    } else {
      packages.push(specifier);
    }
  }
  return { file, imports, packages };
}

/** Each import cycle once, as `a -> b -> … -> a`, starting at its first module in sorted order. */
function importCycles(modules: ReadonlyMap<string, Module>): string[] {
  // Tarjan's strongly connected components; every component of more than one module (or a module
  // importing itself) holds a cycle, and one shortest cycle through its first module names it.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const edges = (file: string) => (modules.get(file)?.imports ?? []).filter((target) => modules.has(target));
  const connect = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter++;
    stack.push(file);
    onStack.add(file);
    for (const target of edges(file)) {
      if (!index.has(target)) {
        connect(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      components.push(component);
    }
  };
  for (const file of [...modules.keys()].sort()) {
    if (!index.has(file)) {
      connect(file);
    }
  }
  return components
    .filter((component) => component.length > 1 || edges(component[0]!).includes(component[0]!))
    .map((component) => {
      const members = new Set(component);
      const start = [...component].sort()[0]!;
      // Breadth-first from `start` inside the component, back to `start`.
      const previous = new Map<string, string>();
      const queue = [start];
      while (queue.length > 0) {
        const file = queue.shift()!;
        for (const target of edges(file).filter((next) => members.has(next))) {
          if (target === start) {
            const path = [file];
            while (path[0] !== start) {
              path.unshift(previous.get(path[0]!)!);
            }
            return [...path, start].join(' -> ');
          }
          if (!previous.has(target)) {
            previous.set(target, file);
            queue.push(target);
          }
        }
      }
      throw new Error(`no cycle through ${start}`);
    })
    .sort();
}

const modules = new Map(
  CHECKED_DIRS.flatMap(sourceFiles)
    .map(readModule)
    .map((module) => [module.file, module] as const),
);
const coreModules = [...modules.values()].filter((module) => module.file.startsWith('core/'));

describe('reading imports', () => {
  it('sees static, type-only, re-exported and dynamic imports, and not the ones in comments', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      'import {',
      '  c,',
      "} from './c.js';",
      "export * from './d.js';",
      "export { e } from 'e-package';",
      "const f = await import('./f.js');",
      "// import { g } from './g.js';",
      "/** Reads from './h.js'. */",
      "const i = 'import x from \"./i.js\"';",
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['./a.js', '../b.js', './c.js', './d.js', 'e-package', './f.js']);
  });

  it('names each cycle once, by its shortest path from its first module', () => {
    const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges).map(([file, imports]) => [file, { file, imports, packages: [] }]));
    expect(importCycles(graph({ a: ['b'], b: ['c', 'a'], c: ['a'], d: ['d'], e: ['a'], f: ['g'], g: [] }))).toEqual(['a -> b -> a', 'd -> d']);
    expect(importCycles(graph({ x: ['y'], y: ['z'], z: ['x'] }))).toEqual(['x -> y -> z -> x']);
  });

  it('finds every layer of core/ and the imports between them', () => {
    const layers = new Set(coreModules.map((module) => coreLayer(module.file)));
    expect([...layers].sort()).toEqual(expect.arrayContaining(CORE_LAYERS.map((_, layer) => layer)));
    expect(modules.get('core/r4/extract.ts')?.imports.length).toBeGreaterThan(0);
    expect(coreModules.some((module) => module.imports.some((target) => coreLayer(target) < coreLayer(module.file)))).toBe(true);
  });
});

describe('core/', () => {
  it('imports only from its own layer or a lower one', () => {
    const upward = coreModules.flatMap((module) =>
      module.imports
        .filter((target) => target.startsWith('core/') && coreLayer(target) > coreLayer(module.file))
        .map((target) => `${module.file} (layer ${coreLayer(module.file)}) -> ${target} (layer ${coreLayer(target)})`),
    );
    expect(upward).toEqual([]);
  });

  it('imports nothing outside core/: not functions/, not scripts/, not aws-lambda', () => {
    const outside = coreModules.flatMap((module) => [
      ...module.imports.filter((target) => !target.startsWith('core/')).map((target) => `${module.file} -> ${target}`),
      ...module.packages.filter((name) => FORBIDDEN_IN_CORE.includes(name)).map((name) => `${module.file} -> ${name}`),
    ]);
    expect(outside).toEqual([]);
  });
});

describe('core/, functions/ and scripts/', () => {
  it('have no import cycles', () => {
    expect(importCycles(modules)).toEqual([]);
  });
});
