/**
 * The repository's folder dependency order, and a reader of every relative import in the tree, so
 * `scripts/layout.test.ts` can hold the code to it. The root README's "Where things are" section draws the same order.
 *
 * A folder may import only folders listed before it (and itself):
 *   events → functions/lib → functions/<name> → api → nginx → scripts → site → bench → test
 * and a function (`functions/<name>/`) imports no other function: what two functions share lives in
 * `functions/lib/<domain>/`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Lowest first: each folder may import the ones before it. */
export const LAYERS = [
  'events',
  'functions/lib',
  'functions/*',
  'api',
  'nginx',
  'scripts',
  'site',
  'bench',
  'test',
] as const;
export type Layer = (typeof LAYERS)[number];

/**
 * Edges that go against the order on purpose, each with its reason. Test files (`*.test.ts`) may also
 * import the shared test helpers in `test/support/` (tests belong to the top layer wherever they sit).
 */
export const ALLOWED: readonly { from: string; to: string; why: string }[] = [
  {
    from: 'api/api.test.ts',
    to: 'nginx/locations.ts',
    why: 'checks that nginx picks, for every declared route, the location of its function',
  },
];

export const REPO_ROOT = resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', '.git', '.tmp', '.cache', '.astro', '.data', 'site-artifacts']);
const SOURCE = /\.(ts|mts|mjs|js|astro)$/;

/** Every source file under the repo root (relative, `/`-separated), build output and dependencies left out. */
export function sourceFiles(dir = REPO_ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE.test(entry.name)) out.push(relative(REPO_ROOT, path).split('\\').join('/'));
  }
  return out;
}

/** The folder a repo path belongs to (`functions/<name>/…` → `functions/*`), or undefined outside the layers. */
export function layerOf(path: string): Layer | undefined {
  const [top, second] = path.split('/');
  if (top === 'functions') return second === 'lib' ? 'functions/lib' : 'functions/*';
  return (LAYERS as readonly string[]).includes(top ?? '') ? (top as Layer) : undefined;
}

/** The function folder name of a path under `functions/<name>/` (not lib), else undefined. */
export function functionOf(path: string): string | undefined {
  const [top, name] = path.split('/');
  return top === 'functions' && name !== 'lib' && path.split('/').length > 2 ? name : undefined;
}

export interface Import {
  readonly from: string;
  /** Repo-relative target; for a template-literal import, the folder its static prefix names. */
  readonly to: string;
}

const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(?:'(\.{1,2}\/[^']*)'|"(\.{1,2}\/[^"]*)"|`(\.{1,2}\/[^`$]*)(?:\$\{|`))/g;

/** The relative imports (static, `export … from`, dynamic) of one file, resolved against the repo root. */
export function importsOf(file: string, text = readFileSync(join(REPO_ROOT, file), 'utf8')): Import[] {
  const out: Import[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (spec === undefined) continue;
    const target = relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), spec))
      .split('\\')
      .join('/');
    out.push({ from: file, to: target });
  }
  return out;
}

/** Why an import breaks the layout, or undefined when it is fine. */
export function violation({ from, to }: Import): string | undefined {
  if (to.startsWith('node_modules/') || to.startsWith('..')) return undefined;
  if (ALLOWED.some((a) => a.from === from && a.to === to)) return undefined;
  if (/\.test\.ts$/.test(from) && to.startsWith('test/support/')) return undefined;
  const fromFn = functionOf(from);
  const toFn = functionOf(to);
  if (fromFn && toFn && fromFn !== toFn) {
    return `function ${fromFn} imports function ${toFn}: move what they share to functions/lib/<domain>/`;
  }
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a || !b || a === b) return undefined;
  if (LAYERS.indexOf(b) > LAYERS.indexOf(a)) return `${a} may not import ${b} (order: ${LAYERS.join(' → ')})`;
  return undefined;
}
