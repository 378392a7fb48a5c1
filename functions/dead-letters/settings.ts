import type { CloudEventV1 } from 'cloudevents';
import { loadConfig, Type } from '../lib/config.ts';
import { createPostgres } from '../lib/data/postgres.ts';
import { createRuntime } from '../lib/runtime.ts';
import { createDeadLetterSink } from './sink.ts';

export const DeadLettersSettings = Type.Object({
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  PG_POOL_MAX: Type.Integer({ minimum: 1, maximum: 20, default: 4 }),
});

/** Wire the dead-letter sink from the environment (once, at start-up); fails fast naming a bad setting. */
export function deadLettersFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): (event: CloudEventV1<unknown>) => Promise<unknown> {
  const settings = loadConfig(DeadLettersSettings, env);
  const runtime = createRuntime('dead-letters', { env });
  const db = createPostgres(runtime, { url: settings.DATABASE_URL, max: settings.PG_POOL_MAX });
  return createDeadLetterSink({ runtime, db });
}

/** Settings schemas dead-letters parses at start-up (with BaseSettings). */
export const settings = [DeadLettersSettings] as const;
/** Settings Vault provides in the cluster: DATABASE_URL from kv/data/isekai/dead-letters/config. */
export const vaultSettings: readonly string[] = ['DATABASE_URL'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads: none. */
export const sharedSecrets: readonly string[] = [];
