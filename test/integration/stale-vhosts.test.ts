import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { removeStaleVhosts, vhostMarker } from '../../scripts/servers/stale-vhosts.ts';

const run = promisify(execFile);

/** The id of a process that has exited (a killed run's harness). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid ?? 0;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

async function vhosts(): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_vhosts', 'name']);
  return stdout.split('\n').filter((l) => l !== '');
}

describe('stale test vhosts on the machine RabbitMQ (issue 18)', () => {
  it('a vhost whose run process is gone is removed; one of a live run stays', async () => {
    const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 0xffffff)
      .toString(16)
      .padStart(6, '0')}`;
    const killed = `isekai-test-${id}-killed`;
    const live = `isekai-test-${id}-live`;
    await run('rabbitmqctl', ['-q', 'add_vhost', killed, '--description', vhostMarker(await deadPid())]);
    await run('rabbitmqctl', ['-q', 'add_vhost', live, '--description', vhostMarker()]);
    try {
      const removed = await removeStaleVhosts();
      expect(removed).toContain(killed);
      expect(removed).not.toContain(live);
      const left = await vhosts();
      expect(left).not.toContain(killed);
      expect(left).toContain(live);
    } finally {
      for (const v of [killed, live])
        await run('rabbitmqctl', ['-q', 'delete_vhost', v]).catch(() => undefined);
    }
  });
});
