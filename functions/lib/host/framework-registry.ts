import { createRequire } from 'node:module';
import { frameworkFile } from './framework-files.ts';

/** What the host reads of functions-framework's registry (build/src/function_registry.js). */
export interface FrameworkRegistry {
  getRegisteredFunction(name: string): { signatureType: string; userFunction: unknown } | undefined;
}

/**
 * The registry `http()`/`cloudEvent()` write to. Its package exports only `.` and `./testing` (which loads
 * Express): the lean host loads the very module the entry loads, by the resolved path (same file → same
 * CommonJS instance → the same Map). Bundles inline that file instead (scripts/build.ts
 * `frameworkRegistryPlugin`), because there is no node_modules beside a bundle.
 */
export const frameworkRegistry = createRequire(import.meta.url)(
  frameworkFile('function_registry.js'),
) as FrameworkRegistry;
