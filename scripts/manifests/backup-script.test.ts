/**
 * k3s/backup/postgres.sh as the backup CronJob runs it (the ConfigMap's copy in knative/base/700-backups.yaml,
 * kept equal to the file by data-protection.test.ts), with `pg_dump` and `pg_restore` replaced by a recording
 * stand-in first on PATH: the database password must reach them through a libpq password file (PGPASSFILE,
 * mode 0600, removed when the script ends), never on their command line (/proc/<pid>/cmdline is readable by
 * every process on the node) nor in their environment. Then the real pg_dump (libpq) against a stub server that
 * asks for the password and records it: libpq reads the file as written (the machine's PostgreSQL trusts local
 * connections, so test/integration/backup-restore.test.ts, which runs the same script against it, cannot show it).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifests, REPO_ROOT } from './load.ts';

const script = String(
  (
    loadManifests(join(REPO_ROOT, 'knative/base')).find(
      (m) => m.object.kind === 'ConfigMap' && m.object.metadata.name === 'backup-scripts',
    )?.object as { data?: Record<string, string> } | undefined
  )?.data?.['postgres.sh'],
);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Recorded {
  argv: string[];
  env: Record<string, string>;
  passfile: { content: string; mode: number } | null;
}

/**
 * Runs `postgres.sh <step> <dir>` with DATABASE_URL = `url`; the stand-in records what it was given, writes
 * the `--file` it is asked for, and exits with SHIM_EXIT. Returns the run, the records and the scratch TMPDIR.
 */
function run(step: 'dump' | 'restore', url: string, shimExit = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'postgres-sh-'));
  dirs.push(dir);
  const [bin, work, tmp] = ['bin', 'work', 'tmp'].map((d) => join(dir, d)) as [string, string, string];
  for (const d of [bin, work, tmp]) mkdirSync(d);
  writeFileSync(join(work, 'restore.dump'), 'dump');
  const records = join(dir, 'records.jsonl');
  const shim = `#!${process.execPath}
const fs = require('node:fs');
const file = process.env.PGPASSFILE;
const passfile = file ? { content: fs.readFileSync(file, 'utf8'), mode: fs.statSync(file).mode & 0o777 } : null;
fs.appendFileSync(${JSON.stringify(records)}, JSON.stringify({ argv: process.argv.slice(2), env: process.env, passfile }) + '\\n');
const out = process.argv.find((a) => a.startsWith('--file='));
if (out) fs.writeFileSync(out.slice('--file='.length), 'PGDMP');
process.exit(Number(process.env.SHIM_EXIT ?? 0));
`;
  for (const tool of ['pg_dump', 'pg_restore']) {
    writeFileSync(join(bin, tool), shim);
    chmodSync(join(bin, tool), 0o755);
  }
  const r = spawnSync('sh', ['-c', script, 'postgres.sh', step, work], {
    encoding: 'utf8',
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      TMPDIR: tmp,
      DATABASE_URL: url,
      PGDUMP_NAME: 'isekai',
      SHIM_EXIT: String(shimExit),
    },
  });
  const recorded: Recorded[] = existsSync(records)
    ? readFileSync(records, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Recorded)
    : [];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, recorded, tmp };
}

const HOST = 'postgres-rw.isekai-data.svc.cluster.local:5432';

describe('postgres.sh hands pg_dump and pg_restore the password in a password file only', () => {
  it('finds the script in the ConfigMap', () => expect(script).toContain('pg_dump'));

  it.each([
    ['dump', 'pg_dump'],
    ['restore', 'pg_restore'],
  ] as const)(
    '%s: %s gets the URL without the password, the password in a 0600 file removed afterwards',
    (step, tool) => {
      const password = '5f3a9c0d1e2b4a6f8c7d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
      const { status, stderr, recorded, tmp } = run(
        step,
        `postgres://isekai:${password}@${HOST}/isekai?sslmode=require`,
      );
      expect(status, stderr).toBe(0);
      expect(recorded).toHaveLength(1);
      const [call] = recorded as [Recorded];
      expect(call.argv.filter((a) => a.includes(password))).toEqual([]);
      expect(Object.entries(call.env).filter(([, v]) => v.includes(password))).toEqual([]);
      expect(call.argv).toContain(`--dbname=postgres://isekai@${HOST}/isekai?sslmode=require`);
      expect(call.argv).toContain('--no-password');
      expect(call.passfile).toEqual({ content: `*:*:*:*:${password}\n`, mode: 0o600 });
      expect(call.env.PGPASSFILE?.startsWith(`${tmp}/`), tool).toBe(true);
      expect(readdirSync(tmp)).toEqual([]);
    },
  );

  it('decodes a percent-encoded password and escapes what the file format reserves (: and \\)', () => {
    const { status, stderr, recorded } = run('dump', `postgres://isekai:p%40ss%3Aw%5Crd@${HOST}/isekai`);
    expect(status, stderr).toBe(0);
    expect(recorded[0]?.passfile?.content).toBe('*:*:*:*:p@ss\\:w\\\\rd\n');
    expect(recorded[0]?.argv).toContain(`--dbname=postgres://isekai@${HOST}/isekai`);
  });

  it('a URL without a password: no file, the URL passed as it is', () => {
    const { status, stderr, recorded } = run('dump', `postgres://isekai@${HOST}/isekai`);
    expect(status, stderr).toBe(0);
    expect(recorded[0]?.passfile).toBeNull();
    expect(recorded[0]?.env.PGPASSFILE).toBeUndefined();
  });

  it('a failed pg_dump fails the step, and the password file is removed all the same', () => {
    const { status, recorded, tmp } = run('dump', `postgres://isekai:secret-9b1d@${HOST}/isekai`, 3);
    expect(status).toBe(3);
    expect(recorded[0]?.passfile?.content).toBe('*:*:*:*:secret-9b1d\n');
    expect(readdirSync(tmp)).toEqual([]);
  });

  it.each([
    ['no postgres:// URL', 'host=db password=x', 64],
    ['a bad %-escape in the password', `postgres://isekai:bad%zz@${HOST}/isekai`, 65],
  ])('refuses %s before running anything', (_name, url, code) => {
    const { status, recorded } = run('dump', url);
    expect(status).toBe(code);
    expect(recorded).toEqual([]);
  });
});

/**
 * A PostgreSQL front door that only authenticates: declines SSL/GSS encryption, asks for a cleartext password
 * (protocol 3: AuthenticationCleartextPassword), records the startup user and the password, then refuses with
 * SQLSTATE 28P01. Enough for libpq to show which password it found.
 */
async function passwordStub(): Promise<{
  port: number;
  seen: { user?: string; password?: string };
  close: () => void;
}> {
  const seen: { user?: string; password?: string } = {};
  const server = createServer((socket: Socket) => {
    let buffer = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const body = buffer.subarray(8, length);
          buffer = buffer.subarray(length);
          // SSLRequest / GSSENCRequest: not offered.
          if (code === 80877103 || code === 80877104) {
            socket.write('N');
            continue;
          }
          const params = body.toString('utf8').split('\0');
          seen.user = params[params.indexOf('user') + 1];
          started = true;
          socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        if (buffer[0] === 0x70)
          seen.password = buffer.subarray(5, length).toString('utf8').replace(/\0$/, '');
        buffer = buffer.subarray(length + 1);
        const fields = Buffer.from('SFATAL\0C28P01\0Mstub: password recorded\0\0');
        const error = Buffer.alloc(5);
        error.write('E');
        error.writeInt32BE(fields.length + 4, 1);
        socket.end(Buffer.concat([error, fields]));
        return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { port: address.port, seen, close: () => server.close() };
}

describe('the real pg_dump finds the password in the file postgres.sh writes', () => {
  it('libpq sends the decoded password (reserved characters included) from PGPASSFILE, none being in the URL it got', async () => {
    const stub = await passwordStub();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'postgres-sh-real-'));
      dirs.push(dir);
      const [work, tmp] = [join(dir, 'work'), join(dir, 'tmp')];
      mkdirSync(work);
      mkdirSync(tmp);
      const child = spawn('sh', ['-c', script, 'postgres.sh', 'dump', work], {
        env: {
          PATH: process.env.PATH,
          TMPDIR: tmp,
          DATABASE_URL: `postgres://isekai:p%40ss%3Aw%5Crd-7e1@127.0.0.1:${stub.port}/isekai?sslmode=disable`,
          PGDUMP_NAME: 'isekai',
        },
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(stderr).toContain('stub: password recorded');
      expect(status).not.toBe(0);
      expect(stub.seen).toEqual({ user: 'isekai', password: 'p@ss:w\\rd-7e1' });
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      stub.close();
    }
  });
});
