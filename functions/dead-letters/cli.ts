/**
 * Operators' view of the dead letters: `node functions/dead-letters/cli.ts list [n]` prints the newest as
 * JSON lines; `… requeue <id>` republishes one to the broker (K_SINK). Needs DATABASE_URL (and K_SINK): from the
 * environment, or in the cluster (VAULT_ADDR set) from Vault as the dead-letters function reads it (role
 * dead-letters). Shipped in the dead-letters image as /app/cli.mjs; run as a Job (k3s/jobs/dead-letters-cli.yaml).
 */
import { loadConfig, Type } from '../lib/config.ts';
import { createPostgres } from '../lib/data/postgres.ts';
import { createHttpTransport } from '../lib/events/transport.ts';
import { createRuntime } from '../lib/runtime.ts';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { requeueDeadLetter } from './requeue.ts';
import { listDeadLetters } from './store.ts';

const [command, arg] = process.argv.slice(2);
const env = await loadFunctionEnv('dead-letters', { required: ['DATABASE_URL'] });
const runtime = createRuntime('dead-letters-cli', { env: { LOG_LEVEL: 'warn', ...env } });
const { DATABASE_URL } = loadConfig(Type.Object({ DATABASE_URL: Type.String({ minLength: 1 }) }), env);
const db = createPostgres(runtime, { url: DATABASE_URL, max: 1 });
try {
  if (command === 'list') {
    for (const row of await listDeadLetters(db, Number(arg ?? 20))) {
      const { event: _event, ...summary } = row;
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    }
  } else if (command === 'requeue' && arg) {
    const { K_SINK } = loadConfig(Type.Object({ K_SINK: Type.String({ format: 'uri' }) }), env);
    const eventId = await requeueDeadLetter(
      { db, send: createHttpTransport({ runtime, sink: K_SINK }) },
      arg,
    );
    process.stdout.write(`${JSON.stringify({ requeued: arg, 'ce.id': eventId })}\n`);
  } else {
    process.stderr.write('usage: cli.ts list [n] | requeue <id>\n');
    process.exitCode = 64;
  }
} finally {
  await runtime.shutdown();
}
