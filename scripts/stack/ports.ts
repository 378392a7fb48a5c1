/** Fixed local ports, so URLs stay the same between runs (override the base with ISEKAI_PORT_BASE). */
const base = Number(process.env.ISEKAI_PORT_BASE ?? 8100);

export const PORTS = {
  edge: base,
  postgres: base + 32,
  s3: base + 33,
  oidc: base + 34,
  broker: base + 35,
  site: base + 36,
} as const;

/** Each function's port: base + 1 + its index in a stable list (new functions append). */
const FUNCTION_ORDER = [
  'edge-auth',
  'catalog',
  'library',
  'rate-anime',
  'subtitles',
  'upload-subtitle',
  'notify',
  'notifications',
  'outbox-relay',
  'dead-letters',
  'integrator-ingress',
  'groups',
];

export function functionPort(name: string): number {
  const index = FUNCTION_ORDER.indexOf(name);
  if (index >= 0) return base + 1 + index;
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) % 16;
  return base + 16 + hash;
}
