import type { CloudEventFunction, HttpFunction } from '@google-cloud/functions-framework';
import { frameworkRegistry as registry } from './framework-registry.ts';

export type Registered =
  | { readonly signatureType: 'http'; readonly userFunction: HttpFunction }
  | { readonly signatureType: 'cloudevent'; readonly userFunction: CloudEventFunction };

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
