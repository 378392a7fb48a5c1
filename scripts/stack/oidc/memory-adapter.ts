import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  expiresAt?: number;
}

/**
 * oidc-provider storage in process memory (sessions, interactions, codes, grants). Access tokens are
 * JWTs, so they outlive a restart; sign-in sessions do not. One store per provider instance.
 */
export function memoryAdapterFactory(): (name: string) => Adapter {
  const store = new Map<string, Entry>();
  const grants = new Map<string, Set<string>>();
  return (name: string) => {
    const key = (id: string) => `${name}:${id}`;
    const get = (k: string) => {
      const entry = store.get(k);
      if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
        store.delete(k);
        return undefined;
      }
      return entry?.payload;
    };
    return {
      async upsert(id, payload, expiresIn) {
        const k = key(id);
        store.set(k, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
        if (payload.grantId) {
          const set = grants.get(payload.grantId) ?? new Set();
          set.add(k);
          grants.set(payload.grantId, set);
        }
      },
      async find(id) {
        return get(key(id));
      },
      async findByUid(uid) {
        for (const [k, entry] of store)
          if (k.startsWith(`${name}:`) && entry.payload.uid === uid) return get(k);
        return undefined;
      },
      async findByUserCode(userCode) {
        for (const [k, entry] of store)
          if (k.startsWith(`${name}:`) && entry.payload.userCode === userCode) return get(k);
        return undefined;
      },
      async consume(id) {
        const payload = get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        store.delete(key(id));
      },
      async revokeByGrantId(grantId) {
        for (const k of grants.get(grantId) ?? []) store.delete(k);
        grants.delete(grantId);
      },
    };
  };
}
