import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { vhostMarker } from '../../scripts/servers/stale-vhosts.ts';

const run = promisify(execFile);

export interface ScratchVhost {
  /** `amqp://…/<vhost>` on the run's RabbitMQ. */
  readonly amqpUrl: string;
  readonly vhost: string;
  drop(): Promise<void>;
}

/**
 * A RabbitMQ vhost of the calling file's own on the machine's RabbitMQ (as the harness makes one per run):
 * a broker started from knative/base declares the same exchange and queue names in every file, so two
 * files on the run's vhost would consume each other's events.
 * @example const v = await scratchVhost(env, 'chains'); startBrokerFromManifests({ amqpUrl: v.amqpUrl, … })
 */
export async function scratchVhost(env: Record<string, string>, label: string): Promise<ScratchVhost> {
  const base = new URL(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/');
  const vhost = `${env.RABBITMQ_VHOST ?? `isekai-test-${env.TEST_RUN_ID}`}-${label}`;
  await run('rabbitmqctl', ['-q', 'add_vhost', vhost, '--description', vhostMarker()]);
  await run('rabbitmqctl', [
    '-q',
    'set_permissions',
    '-p',
    vhost,
    decodeURIComponent(base.username),
    '.*',
    '.*',
    '.*',
  ]);
  base.pathname = `/${encodeURIComponent(vhost)}`;
  return {
    amqpUrl: base.href,
    vhost,
    async drop() {
      await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => undefined);
    },
  };
}
