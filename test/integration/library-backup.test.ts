import type { Server } from 'node:http';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { cloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { CloudEventV1 } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BackupStore, backupKey, createBackupStore } from '../../functions/lib/backups/backups.ts';
import { createPostgres, type Postgres } from '../../functions/lib/data/postgres.ts';
import { createS3 } from '../../functions/lib/data/s3.ts';
import { DependencyUnavailable } from '../../functions/lib/errors.ts';
import { toBinary, toStructured } from '../../functions/lib/events/encode.ts';
import { createHostServer } from '../../functions/lib/host/server.ts';
import { createRuntime, type Runtime } from '../../functions/lib/runtime.ts';
import { wireTracking } from '../../functions/lib/tracking/wiring.ts';
import { createLibrary } from '../../functions/library/library.ts';
import { createBackupRun } from '../../functions/library-backup/run.ts';
import { caller } from '../support/caller.ts';
import type { Loose } from '../support/http.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';
import { animeIdByMal, listen, prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

/**
 * Scheduled backups against real Ceph RGW and PostgreSQL (a scratch database: the weekly run backs up
 * every opted-in user of its database): the library-backup CloudEvent function over the wire in binary and
 * structured mode on both hosts, library's /me/backups routes, the MAL round trip of a downloaded backup,
 * retention, and all-or-nothing records.
 */
const env = inject('env');
const bucket = `isekai-backups-test-${process.pid}-${Date.now().toString(36)}`;
let scratch: ScratchDatabase;
let db: Postgres;
let s3: S3Client;
let store: BackupStore;
let tokens: KeycloakTokens;
let call: ReturnType<typeof caller>;
let lib = '';
const closers: (() => Promise<void>)[] = [];
/** The clock of the store: tests move it between weeks. */
let clock = new Date('2026-11-25T10:00:00Z');
const logs = new PassThrough();
const logLines: Loose[] = [];
logs.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
});

const quiet = (name: string): Runtime => createRuntime(name, { env: { LOG_LEVEL: 'silent' } });
const weekStarting = (monday: string) => new Date(`${monday}T12:00:00Z`);

async function keysOf(userId: string): Promise<string[]> {
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `backups/${encodeURIComponent(userId)}/` }),
  );
  return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
}
async function rowsOf(userId: string): Promise<string[]> {
  const { rows } = await db.query(
    `select to_char(backup_date, 'YYYY-MM-DD') as d from backups where user_id = $1 order by 1`,
    [userId],
  );
  return rows.map((r) => r.d);
}

beforeAll(async () => {
  scratch = await createScratchDatabase(env.DATABASE_URL as string, 'backups');
  await prepareDatabase(scratch.url);
  const runtime = createRuntime('library-backup', { env: { LOG_LEVEL: 'info' }, logDestination: logs });
  db = createPostgres(runtime, { url: scratch.url, max: 4 });
  s3 = createS3({
    endpoint: env.S3_ENDPOINT ?? '',
    region: env.S3_REGION ?? 'us-east-1',
    accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  store = createBackupStore({ runtime, db, s3, bucket, keep: 3, now: () => clock });
  cloudEvent('library-backup', createBackupRun({ runtime, db, store }));

  tokens = await keycloakTokens(env, 'library-backup');
  call = caller(tokens);
  const deps = wireTracking('library', trackingEnv({ ...env, DATABASE_URL: scratch.url }, 'backup-test'));
  const l = await serveOnHost('library', createLibrary({ ...deps, backups: store }));
  lib = l.url;
  closers.push(l.close, () => deps.db.pool.end());
});
afterAll(async () => {
  for (const close of closers) await close();
  await tokens?.close();
  const listed = await s3?.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => undefined);
  const objects = (listed?.Contents ?? []).map((o) => ({ Key: o.Key }));
  if (objects.length > 0)
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
  await s3?.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
  await db?.pool.end();
  await scratch?.drop();
});

/** A user with a list; `optIn` turns weekly backups on through PATCH /me. */
async function userWithList(user: string, optIn: boolean) {
  const [bebop, trigun, akira] = await Promise.all([1, 6, 47].map((m) => animeIdByMal(scratch.url, m)));
  await call('PUT', `${lib}/me/library/${bebop}`, user, {
    status: 'completed',
    startedOn: '2020-01-02',
    finishedOn: '2020-02-03',
    notes: 'Tom & Jerry ]]> <b>',
    tags: ['space', 'jazz'],
    priority: 2,
  });
  await call('PUT', `${lib}/me/library/${trigun}`, user, { status: 'watching', progress: 5 });
  await call('PUT', `${lib}/me/library/${akira}`, user, { status: 'plan_to_watch', private: true });
  if (optIn) expect((await call('PATCH', `${lib}/me`, user, { weeklyBackup: true })).status).toBe(200);
}

const modes = { binary: toBinary, structured: toStructured } as const;
const hosts = {
  'functions-framework': () => getTestServer('library-backup'),
  'lean host': () => createHostServer({ target: 'library-backup', onEventError: () => undefined }),
};
const tick = (id: string, data: unknown): CloudEventV1<unknown> => ({
  specversion: '1.0',
  id,
  type: 'dev.knative.sources.ping',
  source: '/apis/v1/namespaces/isekai/pingsources/library-backup-weekly',
  datacontenttype: 'application/json',
  data,
});

describe('library-backup over the wire', () => {
  beforeAll(async () => {
    await userWithList('bk-weekly', true);
    await userWithList('bk-not-opted', false);
  });

  let week = 0;
  describe.each(Object.entries(hosts))('on %s', (host, make) => {
    let url = '';
    beforeAll(async () => {
      const served = await listen(make() as Server);
      url = served.url;
      closers.push(served.close);
    });
    const lean = host === 'lean host';

    describe.each(Object.keys(modes) as (keyof typeof modes)[])('%s mode', (mode) => {
      async function deliver(event: CloudEventV1<unknown>) {
        const { headers, body } = modes[mode](event);
        const res = await fetch(url, { method: 'POST', headers, body });
        return { status: res.status, body: await res.text() };
      }

      it('a tick backs up every opted-in user once per week, and only them', async () => {
        week += 1;
        const monday = new Date(Date.UTC(2027, 0, 4 + 7 * week)).toISOString().slice(0, 10);
        clock = weekStarting(monday);
        const first = await deliver(tick(`tick-${host}-${mode}-1`, {}));
        expect(first.status).toBeGreaterThanOrEqual(200);
        expect(first.status).toBeLessThan(300);
        expect(await rowsOf(tokens.subOf('bk-weekly'))).toContain(monday);
        expect(await keysOf(tokens.subOf('bk-weekly'))).toContain(
          backupKey(tokens.subOf('bk-weekly'), monday),
        );
        expect(await rowsOf(tokens.subOf('bk-not-opted'))).toEqual([]);
        const stamp = (
          await db.query('select last_backup_at from users where id = $1', [tokens.subOf('bk-weekly')])
        ).rows[0];
        // A second tick the same week changes nothing (the week's backup exists).
        const before = (await store.list(tokens.subOf('bk-weekly')))[0];
        const again = await deliver(tick(`tick-${host}-${mode}-2`, { maxUsers: 100 }));
        expect(again.status).toBeLessThan(300);
        expect((await store.list(tokens.subOf('bk-weekly')))[0]).toEqual(before);
        const after = (
          await db.query('select last_backup_at from users where id = $1', [tokens.subOf('bk-weekly')])
        ).rows[0];
        expect(after).toEqual(stamp);
      });

      it('a malformed tick is refused (400 on the lean host) and backs up nothing', async () => {
        clock = weekStarting('2030-01-07');
        const res = await deliver(tick(`bad-${host}-${mode}`, { maxUsers: 0 }));
        expect(res.status).toBe(lean ? 400 : 500);
        if (lean) expect(JSON.parse(res.body).code).toBe('validation_failed');
        expect(await rowsOf(tokens.subOf('bk-weekly'))).not.toContain('2030-01-07');
      });
    });
  });
});

describe('retention', () => {
  it('keeps the newest three (BACKUP_KEEP) and deletes older objects', async () => {
    await userWithList('bk-keep', false);
    const weeks = ['2028-01-03', '2028-01-10', '2028-01-17', '2028-01-24'];
    for (const monday of weeks) {
      clock = weekStarting(monday);
      expect((await store.run({ id: tokens.subOf('bk-keep'), name: 'keep' })).outcome).toBe('stored');
    }
    const kept = weeks.slice(1);
    expect(await rowsOf(tokens.subOf('bk-keep'))).toEqual(kept);
    expect(await keysOf(tokens.subOf('bk-keep'))).toEqual(
      kept.map((d) => backupKey(tokens.subOf('bk-keep'), d)).sort(),
    );
  });
});

describe('/me/backups', () => {
  it('a backup made now downloads as .xml.gz that re-imports into a fresh user, reproducing the list', async () => {
    clock = weekStarting('2026-11-23');
    await userWithList('bk-now-src', false);
    const made = await call('POST', `${lib}/me/backups`, 'bk-now-src');
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      date: '2026-11-23',
      entries: 3,
      key: backupKey(tokens.subOf('bk-now-src'), '2026-11-23'),
    });
    const listed = await call('GET', `${lib}/me/backups`, 'bk-now-src');
    expect(listed.body.items).toEqual([made.body]);

    const res = await fetch(`${lib}/me/backups/2026-11-23`, {
      headers: { authorization: `Bearer ${await tokens.sign('bk-now-src')}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const gz = Buffer.from(await res.arrayBuffer());
    expect(gunzipSync(gz).toString()).toContain('<update_on_import>1</update_on_import>');

    const imported = await fetch(`${lib}/me/library/import`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await tokens.sign('bk-now-dst')}`,
        'content-type': 'application/gzip',
      },
      body: gz,
    });
    expect(imported.status).toBe(200);
    expect(((await imported.json()) as Loose).totals).toEqual({
      imported: 3,
      updated: 0,
      unchanged: 0,
      skipped: 0,
    });
    const comparable = async (user: string) => {
      const exp = await fetch(`${lib}/me/library/export?format=json`, {
        headers: { authorization: `Bearer ${await tokens.sign(user)}` },
      });
      return ((await exp.json()) as Loose).entries.map((e: Loose) => ({
        malId: e.malId,
        status: e.status,
        progress: e.progress,
        score: e.score,
        startedOn: e.startedOn,
        finishedOn: e.finishedOn,
        notes: e.notes,
        tags: e.tags,
        priority: e.priority,
      }));
    };
    expect(await comparable('bk-now-dst')).toEqual(await comparable('bk-now-src'));
  });

  it('running again the same week overwrites that week’s backup (one record, one object)', async () => {
    clock = weekStarting('2026-11-23');
    await userWithList('bk-again', false);
    expect((await call('POST', `${lib}/me/backups`, 'bk-again')).body).toMatchObject({ entries: 3 });
    const lain = await animeIdByMal(scratch.url, 339);
    await call('PUT', `${lib}/me/library/${lain}`, 'bk-again', { status: 'dropped' });
    const again = await call('POST', `${lib}/me/backups`, 'bk-again');
    expect(again.body).toMatchObject({ date: '2026-11-23', entries: 4 });
    expect(await rowsOf(tokens.subOf('bk-again'))).toEqual(['2026-11-23']);
    expect(await keysOf(tokens.subOf('bk-again'))).toEqual([
      backupKey(tokens.subOf('bk-again'), '2026-11-23'),
    ]);
  });

  const refused: [string, string, string | undefined, number][] = [
    ['a date with no backup', '/me/backups/2026-11-30', 'bk-owner', 404],
    ['a date that is not one (a malformed path parameter)', '/me/backups/2026-13-45', 'bk-owner', 400],
    ['another user’s backup', '/me/backups/2026-11-23', 'bk-nobody', 404],
    ['no token', '/me/backups', undefined, 401],
  ];
  expect(refused, 'refused reads').toHaveLength(4);
  it.each(refused)('%s → %i', async (_name, path, user, status) => {
    // bk-owner has a backup of 2026-11-23 (the week another user asks for).
    clock = weekStarting('2026-11-23');
    await userWithList('bk-owner', false);
    expect((await call('POST', `${lib}/me/backups`, 'bk-owner')).status).toBe(201);
    expect((await call('GET', `${lib}${path}`, user)).status).toBe(status);
  });
});

describe('all or nothing', () => {
  it('a failed upload leaves no record', async () => {
    clock = weekStarting('2026-11-23');
    await userWithList('bk-upload-fails', false);
    const broken = createBackupStore({
      runtime: quiet('library-backup'),
      db,
      s3,
      bucket: `${bucket}-missing`,
      now: () => clock,
    });
    await expect(broken.run({ id: tokens.subOf('bk-upload-fails'), name: 'x' })).rejects.toMatchObject({
      code: 'dependency_unavailable',
    });
    expect(await rowsOf(tokens.subOf('bk-upload-fails'))).toEqual([]);
    const { rows } = await db.query('select last_backup_at from users where id = $1', [
      tokens.subOf('bk-upload-fails'),
    ]);
    expect(rows[0]?.last_backup_at).toBeNull();
  });

  it('a record that cannot be written deletes the object it stored', async () => {
    clock = weekStarting('2026-11-23');
    // Every object call of this store is recorded, and answered by the real RGW.
    const sent: { command: string; key: string | undefined; ok: boolean }[] = [];
    const recording = {
      send: async (command: { constructor: { name: string }; input: Loose }, options?: unknown) => {
        const key = command.input.Key ?? command.input.Delete?.Objects?.[0]?.Key;
        try {
          const answer = await (s3.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
          sent.push({ command: command.constructor.name, key, ok: true });
          return answer;
        } catch (error) {
          sent.push({ command: command.constructor.name, key, ok: false });
          throw error;
        }
      },
    } as unknown as S3Client;
    const recorded = createBackupStore({
      runtime: quiet('library-backup'),
      db,
      s3: recording,
      bucket,
      now: () => clock,
    });
    // No users row: the backups row's foreign key fails after the upload.
    const key = backupKey('bk-ghost', '2026-11-23');
    const error = await recorded.run({ id: 'bk-ghost', name: 'ghost' }).then(
      () => undefined,
      (e: unknown) => e as Loose,
    );
    // It failed for the stated reason (the record), not before: the upload had succeeded.
    expect(error).toMatchObject({ code: '23503', constraint: 'backups_user_id_fkey' });
    expect(sent).toEqual([
      { command: 'PutObjectCommand', key, ok: true },
      { command: 'DeleteObjectsCommand', key, ok: true },
    ]);
    expect(await rowsOf('bk-ghost')).toEqual([]);
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  it('the weekly run goes past a failing user, logs its code and counts it', async () => {
    clock = weekStarting('2031-03-03');
    await userWithList('bk-weekly-ok', true);
    await userWithList('bk-fails-weekly', true);
    // Other tests' opted-in users (if they ran first) are backed up too: count them.
    const { rows: opted } = await db.query('select count(*)::int n from users where weekly_backup');
    const flaky: BackupStore = {
      ...store,
      run: (user, options) =>
        user.id === tokens.subOf('bk-fails-weekly')
          ? Promise.reject(new DependencyUnavailable('s3'))
          : store.run(user, options),
    };
    const report = await createBackupRun({
      runtime: createRuntime('library-backup', { env: { LOG_LEVEL: 'info' }, logDestination: logs }),
      db,
      store: flaky,
    })(tick('direct-1', {}));
    const users = opted[0]?.n as number;
    expect(users).toBeGreaterThanOrEqual(2);
    expect(report).toMatchObject({ week: '2031-03-03', users, stored: users - 1, failed: 1 });
    expect(await rowsOf(tokens.subOf('bk-weekly-ok'))).toContain('2031-03-03');
    expect(await rowsOf(tokens.subOf('bk-fails-weekly'))).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(logLines).toContainEqual(
      expect.objectContaining({
        code: 'dependency_unavailable',
        userId: tokens.subOf('bk-fails-weekly'),
        'ce.id': 'direct-1',
      }),
    );
  });
});
