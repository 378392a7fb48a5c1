import type { CloudEventFunction, HttpFunction } from '@google-cloud/functions-framework';
// The framework's registry module, imported by path: its package exports hide it, and the host must read
// the very Map that `http()` / `cloudEvent()` wrote to (same file → same module instance, bundled or not).
import * as registryModule from '../../../node_modules/@google-cloud/functions-framework/build/src/function_registry.js';

export type Registered =
  | { readonly signatureType: 'http'; readonly userFunction: HttpFunction }
  | { readonly signatureType: 'cloudevent'; readonly userFunction: CloudEventFunction };

interface RegistryModule {
  getRegisteredFunction(name: string): { signatureType: string; userFunction: unknown } | undefined;
}

const registry = ((registryModule as unknown as { default?: RegistryModule }).default ??
  registryModule) as unknown as RegistryModule;

/** The function registered with functions-framework's `http(name, …)` or `cloudEvent(name, …)`. */
export function registeredFunction(name: string): Registered {
  const found = registry.getRegisteredFunction(name);
  if (!found)
    throw new Error(`no function registered as "${name}" (check FUNCTION_TARGET and the source module)`);
  if (found.signatureType !== 'http' && found.signatureType !== 'cloudevent') {
    throw new Error(
      `function "${name}" has signature type "${found.signatureType}"; the host serves http and cloudevent`,
    );
  }
  return found as Registered;
}
