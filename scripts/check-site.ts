/**
 * Type-check the site (site/tsconfig.json: Astro's strictest config, which brings the DOM lib) and report
 * the diagnostics of site/ files, `.astro` files included.
 *
 * `.astro` files: `astro check` (@astrojs/check) needs the TypeScript 5/6 JavaScript API, and this
 * repository runs TypeScript 7 (the native compiler, no JS API). So each `.astro` file is converted to TSX
 * with `@astrojs/astro2tsx` (the converter Astro's language server uses) into site/.astro-check/src/<same
 * path>.astro.tsx, a tsconfig there extends site/tsconfig.json with `rootDirs` joining src/ and the
 * generated tree (so `../lib/x.ts` and `../components/Y.astro` resolve, the latter to its generated TSX:
 * component props are checked across files), and tsc 7 checks it all. Errors in generated files are mapped
 * back to the `.astro` source line through the converter's mappings (errors in generated glue with no
 * mapping are reported at the generated line).
 *
 * The functions' modules the site imports types from are checked by the root tsconfig (Node's lib);
 * under the DOM lib one of them reports a Buffer/BodyInit typing difference of the two fetch typings,
 * which is not the site's to fix, so only site/ diagnostics count.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { convertToTsx } from '@astrojs/astro2tsx';

const root = new URL('..', import.meta.url).pathname;
const siteDir = join(root, 'site');
const outDir = join(siteDir, '.astro-check');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

interface Generated {
  source: string;
  code: string;
  mappings: [number, number, number, number, ...unknown[]][];
}

function astroFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? astroFiles(join(dir, e.name)) : e.name.endsWith('.astro') ? [join(dir, e.name)] : [],
  );
}

/** 0-based UTF-16 offset of a 1-based line and column. */
function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) offset = text.indexOf('\n', offset) + 1;
  return offset + column - 1;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line},${offset - before.lastIndexOf('\n')}`;
}

rmSync(outDir, { recursive: true, force: true });
const generated = new Map<string, Generated>();
const parseErrors: string[] = [];
for (const file of astroFiles(join(siteDir, 'src'))) {
  const rel = relative(siteDir, file);
  const source = readFileSync(file, 'utf8');
  const result = convertToTsx(source, { filename: rel.split('/').at(-1) ?? rel, ambientTypes: true });
  for (const d of result.diagnostics)
    if (d.severity === 1)
      parseErrors.push(`site/${rel}(${lineColumn(source, d.position.start)}): error: ${d.message}`);
  const target = join(outDir, `${rel}.tsx`);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, result.code);
  generated.set(`site/.astro-check/${rel}.tsx`, {
    source: `site/${rel}`,
    code: result.code,
    mappings: result.mappings,
  });
}
writeFileSync(
  join(outDir, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: '../tsconfig.json',
      compilerOptions: { rootDirs: ['../src', './src'], jsxImportSource: 'astro' },
      include: ['../.astro/types.d.ts', '../src/**/*', './src/**/*.tsx'],
    },
    null,
    2,
  ),
);

const result = spawnSync(tsc, ['-p', 'site/.astro-check/tsconfig.json', '--noEmit', '--pretty', 'false'], {
  cwd: root,
  encoding: 'utf8',
});
const errors: string[] = [...parseErrors];
let keep = false;
for (const line of `${result.stdout}${result.stderr}`.split('\n')) {
  const m = /^(\S.*?)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(line);
  if (m) {
    const [, file = '', l = '0', c = '0', message = ''] = m;
    const gen = generated.get(file);
    keep = file.startsWith('site/');
    if (!keep) continue;
    if (!gen) {
      errors.push(line);
      continue;
    }
    const at = offsetOf(gen.code, Number(l), Number(c));
    const map = gen.mappings.find(([vs, vl]) => at >= vs && at <= vs + vl);
    const original = readFileSync(join(root, gen.source), 'utf8');
    errors.push(
      map
        ? `${gen.source}(${lineColumn(original, map[2] + Math.min(at - map[0], map[3]))}): ${message}`
        : `${gen.source} (generated ${file}:${l}:${c}): ${message}`,
    );
  } else if (keep && line.trim()) errors.push(line);
}
if (errors.length > 0) {
  process.stderr.write(`${errors.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`site: no type errors in site/ (${generated.size} .astro files checked)\n`);
