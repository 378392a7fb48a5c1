/**
 * Type-check the site (site/tsconfig.json: Astro's strictest config, which brings the DOM lib) and report
 * the diagnostics of site/ files. The functions' modules the site imports types from are checked by the
 * root tsconfig (Node's lib); under the DOM lib one of them reports a Buffer/BodyInit typing difference of
 * the two fetch typings, which is not the site's to fix. `.astro` files are not checked here (astro check
 * needs TypeScript <= 6; keep page logic in .ts modules).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = join(root, 'node_modules', '.bin', 'tsc');
const result = spawnSync(tsc, ['-p', 'site/tsconfig.json', '--noEmit', '--pretty', 'false'], {
  cwd: root,
  encoding: 'utf8',
});
const lines = `${result.stdout}${result.stderr}`.split('\n');
const errors: string[] = [];
let keep = false;
for (const line of lines) {
  if (/^\S.*\(\d+,\d+\): error TS\d+/.test(line)) keep = line.startsWith('site/');
  if (keep && line.trim()) errors.push(line);
}
if (errors.length > 0) {
  process.stderr.write(`${errors.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('site: no type errors in site/\n');
