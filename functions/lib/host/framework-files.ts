import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * A file of `@google-cloud/functions-framework`'s build, found beside the package's public entry
 * (`require.resolve('@google-cloud/functions-framework')` honours its `exports` and wherever npm put it,
 * hoisted or nested) — e.g. `frameworkFile('main.js')` (its CLI), `frameworkFile('function_registry.js')`.
 * Throws MODULE_NOT_FOUND when the package is not installed.
 * @example frameworkFile('main.js') // → /…/node_modules/@google-cloud/functions-framework/build/src/main.js
 */
export function frameworkFile(file: string): string {
  return join(dirname(require.resolve('@google-cloud/functions-framework')), file);
}
