import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { isRunning, type ProcessId, processId } from './harness.ts';

/**
 * A server on a fixed port of this machine, shared by everyone who needs it at the same time — test runs,
 * `npm start` stacks, from any checkout — and stopped by whichever of them finishes last.
 *
 * Its state lives in `<ISEKAI_SERVERS_DIR or /tmp/isekai-servers>/<name>-<port>/` (machine-wide, as the
 * port is; cleared by a reboot, as the servers are):
 * - `server.json`: the process that serves, written by the user that started it (`{ pid, since, dir }`),
 *   so that any later user — another process, another checkout — can stop it;
 * - `leases/<pid>-<since>-<random>`: one file per user holding it, named after the user's process. A lease
 *   whose process is gone (killed with SIGKILL, crashed) is stale: it is ignored and removed, so it never
 *   keeps the server alive; the last live user stops it. When every user died, it runs on until the next
 *   user joins it (the record makes that one its owner) and finishes: nothing here watches in between.
 * Every decision (start or reuse, stop or leave running) is taken under an exclusive lock (proper-lockfile
 * on `<dir>.lock`; a holder that dies loses it after 20 s), so a user arriving while the last one leaves
 * either keeps the server or waits for it to be stopped and starts a fresh one.
 * A server that answers but has no `server.json` was started by hand (or by an older checkout): it is
 * used and never stopped.
 */

/** The process that serves and its data directory: what `stop` needs, from any process. */
export interface ServerProcess extends ProcessId {
  /** Data directory (absolute) of the starter's checkout, e.g. `/work/a/.tmp/mongo-wire`. */
  readonly dir: string;
}

export interface SharedServerSpec {
  /** e.g. `mongo-wire`. With `port`, names the machine-wide state directory. */
  readonly name: string;
  readonly port: number;
  /** True when the server answers its protocol on `port`. */
  answering(): Promise<boolean>;
  /** Starts the server; resolves once it answers, with its process. Runs under the lock. Calls `record`
   * as soon as the process exists, so that a starter killed before the server answers leaves it to the
   * next user to stop (rather than a server nobody owns); stops what it started when it fails. */
  start(record: (server: ServerProcess) => void): Promise<ServerProcess>;
  /** Stops the server `start` described (it may be gone already: then only clean up), from any process. */
  stop(server: ServerProcess): Promise<void>;
  /** How long `start` may take (ms): a second user waits that long (+ 60 s) for the lock. */
  readonly startDeadlineMs: number;
}

export interface SharedServerLease {
  /** False when this call started the server. */
  readonly reused: boolean;
  /** False when it answers without a record of who started it: used, never stopped by us. */
  readonly managed: boolean;
  /** Other live users when we joined. */
  readonly others: number;
  /** The serving process and its data directory (undefined when not `managed`). */
  readonly server?: ServerProcess;
  /** Gives the lease back; stops the server when no live lease remains. True when it stopped it. Idempotent. */
  release(): Promise<boolean>;
}

/** The start line's note on who else uses it, e.g. `; shared with 1 other user(s): the last one stops it`. */
export function sharing(lease: Pick<SharedServerLease, 'managed' | 'others'>): string {
  if (!lease.managed) return '; started by hand or by an older checkout: never stopped by us';
  return lease.others === 0 ? '' : `; shared with ${lease.others} other user(s): the last one stops it`;
}

/** Machine-wide state directory of one shared server. */
export function sharedServerDir(name: string, port: number): string {
  // Not $TMPDIR: every user on the machine must find the same directory, whatever its environment.
  const root = process.env.ISEKAI_SERVERS_DIR ?? '/tmp/isekai-servers';
  return path.join(root, `${name}-${port}`);
}

async function locked<T>(dir: string, waitMs: number, work: () => Promise<T>): Promise<T> {
  const unlock = await lockfile.lock(dir, {
    realpath: false,
    stale: 20_000,
    update: 5_000,
    retries: { retries: Math.ceil(waitMs / 250), factor: 1, minTimeout: 250, maxTimeout: 250 },
    // An event loop stalled past `stale` (a loaded machine): say so rather than crash the run.
    onCompromised: (error) => console.warn(`[harness] lock ${dir}.lock lost: ${error.message}`),
  });
  try {
    return await work();
  } finally {
    await unlock().catch(() => undefined);
  }
}

function readServer(dir: string): ServerProcess | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'server.json'), 'utf8')) as ServerProcess;
  } catch {
    return undefined;
  }
}

function writeServer(dir: string, server: ServerProcess): void {
  const file = path.join(dir, 'server.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(server)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Live leases (file names); stale ones — their process gone — are removed on the way. */
function liveLeases(dir: string): string[] {
  const leases = path.join(dir, 'leases');
  const live: string[] = [];
  for (const file of readdirSync(leases)) {
    const [pid, since] = file.split('-');
    if (isRunning({ pid: Number(pid), since: since ?? '' })) live.push(file);
    else rmSync(path.join(leases, file), { force: true });
  }
  return live;
}

/** How long a running server that does not answer is given before it counts as hung (ms). */
const HUNG_MS = 15_000;

async function answersWithin(spec: SharedServerSpec, server: ServerProcess, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    if (!isRunning(server)) return false;
    if (await spec.answering()) return true;
    if (performance.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Joins the users of the shared server `spec` describes, starting it when it does not answer, and returns
 * the lease to give back when done (`release()` in every exit path: a user that dies instead leaves a stale
 * lease, ignored by the others).
 * @example const lease = await acquireShared({ name: 'mongo-wire', port: 47017, answering, start, stop,
 *   startDeadlineMs: 30_000 }); try { … } finally { await lease.release(); }
 */
export async function acquireShared(spec: SharedServerSpec): Promise<SharedServerLease> {
  const dir = sharedServerDir(spec.name, spec.port);
  mkdirSync(path.join(dir, 'leases'), { recursive: true });
  const waitMs = spec.startDeadlineMs + 60_000;
  return locked(dir, waitMs, async () => {
    let server = readServer(dir);
    // Its process is gone (crashed, killed), or it has not answered for HUNG_MS (a slow answer on a
    // loaded machine is not a reason to take a server from its users): clean up after it.
    if (server && !(await answersWithin(spec, server, HUNG_MS))) {
      console.warn(`[harness] shared ${spec.name} (pid ${server.pid}) is gone or hung: replacing it`);
      await spec.stop(server);
      rmSync(path.join(dir, 'server.json'), { force: true });
      server = undefined;
    }
    if (!server && (await spec.answering()))
      return { reused: true, managed: false, others: 0, release: async () => false };
    const reused = server !== undefined;
    if (!server) {
      try {
        server = await spec.start((early) => writeServer(dir, early));
      } catch (error) {
        rmSync(path.join(dir, 'server.json'), { force: true });
        throw error;
      }
      writeServer(dir, server);
    }
    const others = liveLeases(dir).length;
    const me = processId(process.pid);
    const lease = path.join(dir, 'leases', `${me.pid}-${me.since}-${randomBytes(4).toString('hex')}`);
    writeFileSync(lease, `${process.argv.slice(1).join(' ')}\n`);
    let released: Promise<boolean> | undefined;
    const release = () => {
      // The directory may have gone meanwhile (a tmp cleaner): the lock needs its parent.
      mkdirSync(path.join(dir, 'leases'), { recursive: true });
      released ??= locked(dir, waitMs, async () => {
        rmSync(lease, { force: true });
        const last = readServer(dir);
        if (!last || liveLeases(dir).length > 0) return false;
        await spec.stop(last);
        rmSync(path.join(dir, 'server.json'), { force: true });
        return true;
      });
      return released;
    };
    return { reused, managed: true, others, server, release };
  });
}
