import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnUser, type User } from '../servers/fixtures/users.ts';
import { freePort, tcpOpen } from '../servers/harness.ts';

/**
 * `npm start` and `npm test` overlapping on the machine's MongoDB wire server (in memory): a stack's data
 * survives the end of a test run, whichever of them started the server. Each side is a real process calling
 * what `npm start` (`startStackMongo`) and the test harness (`mongo-wire` `start()`) call, on a private
 * port (MONGO_WIRE_PORT), never the machine's 47017.
 */

const state = mkdtempSync(path.join(tmpdir(), 'isekai-servers-test-'));
const users: User[] = [];
let port = 0;

const spawn = (kind: 'stack' | 'mongo-wire') => {
  const u = spawnUser(kind, { MONGO_WIRE_PORT: String(port), ISEKAI_SERVERS_DIR: state, EDGE_PORT: '8977' });
  users.push(u);
  return u;
};

/** Writes a document as the stack would (its MONGO_URL and MONGO_DATABASE), or counts them. */
async function inStackDatabase<T>(env: Record<string, string>, work: (c: MongoClient) => Promise<T>) {
  const client = new MongoClient(env.MONGO_URL ?? '', { serverSelectionTimeoutMS: 3_000 });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}
const inboxes = (c: MongoClient, env: Record<string, string>) =>
  c.db(env.MONGO_DATABASE).collection('inboxes');

beforeEach(async () => {
  port = await freePort();
});

afterAll(async () => {
  for (const u of users) if (u.child.exitCode === null && u.child.signalCode === null) await u.release();
  rmSync(state, { recursive: true, force: true });
});

describe("npm start's data on the shared MongoDB wire server", () => {
  it.each([
    { first: 'a test run', order: ['mongo-wire', 'stack'] as const },
    { first: 'the stack', order: ['stack', 'mongo-wire'] as const },
  ])('survives the end of a test run when $first started the server', async ({ order }) => {
    const a = spawn(order[0]);
    expect((await a.holding).reused).toBe(false);
    const b = spawn(order[1]);
    expect((await b.holding).reused).toBe(true);
    const [stack, testRun] = order[0] === 'stack' ? [a, b] : [b, a];
    const env = (await stack.holding).env;
    expect(env.MONGO_DATABASE).toBe('isekai-dev-8977');
    await inStackDatabase(env, (c) => inboxes(c, env).insertOne({ userId: 'viewer1', unread: 3 }));

    await testRun.release();
    const kept = await inStackDatabase(env, (c) => inboxes(c, env).findOne({ userId: 'viewer1' }));
    expect(kept).toMatchObject({ unread: 3 });

    await stack.release();
    expect(await tcpOpen(port)).toBe(false);
  });
});
