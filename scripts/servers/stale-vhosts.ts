import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A test vhost's RabbitMQ description: the process that made it (`isekai-test pid=<n>`). */
export const vhostMarker = (pid = process.pid) => `isekai-test pid=${pid}`;

/** Vhosts without a marker (made before it existed) are stale once their run id is this old. */
export const UNMARKED_STALE_AFTER_MS = 6 * 60 * 60 * 1000;

/** `isekai-test-<run id>[-<label>]`, the run id being `Date.now()` in base 36 (8 digits) + 6 hex digits. */
const TEST_VHOST = /^isekai-test-([0-9a-z]{8})[0-9a-f]{6}(?:-.+)?$/;

export interface VhostRow {
  readonly name: string;
  readonly description: string;
}

/**
 * The test vhosts (`isekai-test-*`) left by runs that are over: the process named by the marker is gone
 * (`alive(pid)` false), or, without a marker, the run id's timestamp is older than
 * UNMARKED_STALE_AFTER_MS. Other vhosts, and those of live runs (another helper's, a watch session), stay.
 */
export function staleVhosts(
  rows: readonly VhostRow[],
  nowMs: number,
  alive: (pid: number) => boolean,
): string[] {
  return rows
    .filter((row) => {
      const match = TEST_VHOST.exec(row.name);
      if (!match?.[1]) return false;
      const pid = /^isekai-test pid=(\d+)$/.exec(row.description.trim())?.[1];
      if (pid !== undefined) return !alive(Number(pid));
      return nowMs - Number.parseInt(match[1], 36) > UNMARKED_STALE_AFTER_MS;
    })
    .map((row) => row.name);
}

/** Whether a process with this id runs on this machine (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete the stale test vhosts of the machine's RabbitMQ (see staleVhosts); the names deleted. */
export async function removeStaleVhosts(nowMs = Date.now()): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', [
    '-q',
    '--no-table-headers',
    'list_vhosts',
    'name',
    'description',
  ]);
  const rows = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [name = '', ...rest] = line.split('\t');
      return { name, description: rest.join('\t') };
    });
  const stale = staleVhosts(rows, nowMs, processAlive);
  for (const vhost of stale) await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => undefined);
  return stale;
}
