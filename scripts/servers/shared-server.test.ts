import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnUser, tinyServer, type User } from './fixtures/users.ts';
import { freePort, isAlive, isRunning, startDetached, stopPid, tcpOpen, waitUntil } from './harness.ts';
import type { ServerProcess } from './shared-server.ts';

/**
 * Users of one shared server as real processes (scripts/servers/fixtures/shared-user.ts, kind `tiny`: a
 * node TCP server on a free port of its own, never one of the machine's shared servers), overlapping as
 * `npm start` and `npm test` runs do.
 */

const state = mkdtempSync(path.join(tmpdir(), 'isekai-servers-test-'));
const users: User[] = [];
let port = 0;

const user = () => {
  const u = spawnUser('tiny', { TINY_PORT: String(port), ISEKAI_SERVERS_DIR: state });
  users.push(u);
  return u;
};
const serverPid = async (u: User) => Number((await u.holding).env.TINY_PID);

beforeEach(async () => {
  port = await freePort();
});

afterAll(async () => {
  for (const u of users) if (u.child.exitCode === null && u.child.signalCode === null) await u.kill();
  for (const dir of readdirSync(state)) {
    // A server a failed test left running: stop it by the record of its own test.
    const record = path.join(state, dir, 'server.json');
    if (!existsSync(record)) continue;
    const server = JSON.parse(readFileSync(record, 'utf8')) as ServerProcess;
    if (isRunning(server)) await stopPid(server.pid);
    rmSync(server.dir, { recursive: true, force: true });
  }
  rmSync(state, { recursive: true, force: true });
});

describe('a server shared by overlapping users', () => {
  it('keeps running when the first of two users finishes, and stops when the last one does', async () => {
    const first = user();
    expect((await first.holding).reused).toBe(false);
    const pid = await serverPid(first);
    const second = user();
    expect((await second.holding).reused).toBe(true);
    expect(await serverPid(second)).toBe(pid);

    await first.release();
    expect(await tcpOpen(port)).toBe(true);
    expect(isAlive(pid)).toBe(true);

    await second.release();
    expect(isAlive(pid)).toBe(false);
    expect(await tcpOpen(port)).toBe(false);
  });

  it('stops when the starter outlives the others and finishes last', async () => {
    const starter = user();
    const pid = await serverPid(starter);
    const guest = user();
    await guest.holding;
    await guest.release();
    expect(await tcpOpen(port)).toBe(true);
    await starter.release();
    expect(isAlive(pid)).toBe(false);
  });

  it('ignores the stale lease of a user killed with SIGKILL: the last live user stops the server', async () => {
    const killed = user();
    const pid = await serverPid(killed);
    const survivor = user();
    await survivor.holding;
    await killed.kill();
    expect(await tcpOpen(port)).toBe(true);

    await survivor.release();
    expect(isAlive(pid)).toBe(false);
    expect(readdirSync(path.join(state, `tiny-${port}`, 'leases'))).toEqual([]);
  });

  it('is taken over by the next user when its only user was killed, and stopped when that one finishes', async () => {
    const killed = user();
    const pid = await serverPid(killed);
    await killed.kill();
    expect(await tcpOpen(port)).toBe(true);

    const next = user();
    expect((await next.holding).reused).toBe(true);
    await next.release();
    expect(isAlive(pid)).toBe(false);
  });

  it('is stopped by the next user when its starter was killed before it answered', async () => {
    const starter = spawnUser('tiny', {
      TINY_PORT: String(port),
      ISEKAI_SERVERS_DIR: state,
      TINY_START_MS: '60000',
    });
    users.push(starter);
    const record = path.join(state, `tiny-${port}`, 'server.json');
    await waitUntil('the starter records its server', async () => existsSync(record), { deadlineMs: 10_000 });
    const pid = (JSON.parse(readFileSync(record, 'utf8')) as { pid: number }).pid;
    await starter.kill();

    // The dead starter's lock goes stale (20 s); the next user finds the recorded server and owns it.
    const next = user();
    expect((await next.holding).reused).toBe(true);
    expect(Number((await next.holding).env.TINY_PID)).toBe(pid);
    await next.release();
    expect(isAlive(pid)).toBe(false);
  }, 60_000);

  it('starts one server for users arriving at the same moment', async () => {
    const three = [user(), user(), user()];
    const held = await Promise.all(three.map((u) => u.holding));
    expect(held.filter((h) => !h.reused)).toHaveLength(1);
    expect(new Set(held.map((h) => h.env.TINY_PID)).size).toBe(1);
    for (const u of three) await u.release();
    expect(await tcpOpen(port)).toBe(false);
  });

  it('uses a server started by hand (no record) and never stops it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'isekai-by-hand-'));
    const byHand = startDetached(process.execPath, ['-e', tinyServer(port)], {
      cwd: dir,
      env: {},
      logFile: path.join(dir, 'log'),
      pidFile: path.join(dir, 'pid'),
    });
    try {
      await waitUntil('server started by hand', () => tcpOpen(port), { deadlineMs: 10_000 });
      const u = user();
      expect((await u.holding).reused).toBe(true);
      await u.release();
      expect(isAlive(byHand.pid as number)).toBe(true);
    } finally {
      await stopPid(byHand.pid as number);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
