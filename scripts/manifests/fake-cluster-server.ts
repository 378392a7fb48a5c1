/**
 * The fake `kubectl` and `vault` of install.test.ts (fake-cluster.ts) served by one Node process, so that
 * each of an install's ~200 calls costs a bash client (≈ 3 ms of CPU) instead of a Node start (≈ 50 ms).
 * The clients are the commands put first on PATH: bash scripts that send their call over a TCP connection
 * to 127.0.0.1 and print what the fake answered, with its exit status. Calls are answered one at a time,
 * each reading and writing the state file as the one-process fake does, so the model and its refusals are
 * the same; a port-forward's connection is held open until its client is killed, like the real command.
 *
 * Wire format (fields each ended by a NUL byte; the values are text without NUL):
 *   request:  tool, working directory, n, n × `NAME=value` (CLIENT_ENV), argc, argc × argument, stdin
 *   response: exit status, stderr, then stdout until the connection closes
 *
 *   node scripts/manifests/fake-cluster-server.ts   # prints the port, serves until its stdin closes
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type CallResult, fakeCall } from './fake-cluster.ts';

/** The environment variables a client forwards (fake-cluster.ts reads no other). */
const CLIENT_ENV = [
  'FAKE_STATE',
  'FAKE_LOG',
  'FAKE_FAIL',
  'FAKE_INSIDE',
  'REAL_KUBECTL',
  'VAULT_ADDR',
  'VAULT_TOKEN',
];

/** The fields of a complete request in `buffer`, or undefined while some are still to come. */
export function parseRequest(buffer: Buffer): string[] | undefined {
  const fields: string[] = [];
  let start = 0;
  const next = () => {
    const end = buffer.indexOf(0, start);
    if (end < 0) return false;
    fields.push(buffer.toString('utf8', start, end));
    start = end + 1;
    return true;
  };
  for (let want = 3; fields.length < want; ) {
    if (!next()) return undefined;
    if (fields.length === 3) want = 3 + Number(fields[2]) + 1;
    if (fields.length === 4 + Number(fields[2])) want = fields.length + Number(fields.at(-1)) + 1;
  }
  return fields;
}

function answer(socket: Socket, fields: string[]): void {
  const [tool = '', cwd = '', count = '0'] = fields;
  const env = Object.fromEntries(
    fields
      .slice(3, 3 + Number(count))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const args = fields.slice(4 + Number(count), -1);
  const stdin = fields.at(-1) ?? '';
  let result: CallResult;
  try {
    result = fakeCall(tool, args, { env, cwd }, () => stdin);
  } catch (error) {
    // A fault of the fake itself, as the one-process fake would crash with it.
    result = { stdout: '', stderr: `${(error as Error).stack}\n`, exit: 1, holds: false };
  }
  if (result.holds) return; // answered when killed: the client's end closes the connection
  socket.end(`${result.exit}\0${result.stderr}\0${result.stdout}`);
}

/** Serve on 127.0.0.1 (a free port); resolves with the port. */
export function serve(): Promise<number> {
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on('error', () => undefined); // a client killed mid-call (the port-forward's)
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const fields = parseRequest(buffer);
      if (fields) answer(socket, fields);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/** Write the `kubectl` and `vault` clients of the server on `port` into `bin`. */
export function writeClients(bin: string, port: number): void {
  for (const tool of ['kubectl', 'vault']) {
    const file = join(bin, tool);
    writeFileSync(
      file,
      `#!/bin/bash
# The fake ${tool} of install.test.ts: this call, answered by scripts/manifests/fake-cluster-server.ts.
export LC_ALL=C
exec 3<>/dev/tcp/127.0.0.1/${port} || { echo "fake ${tool}: no fake cluster on port ${port}" >&2; exit 70; }
input=
for a in "$@"; do
  case $a in -|*=-) input=$(cat; printf x); input=\${input%x}; break ;; esac
done
vars=()
for v in ${CLIENT_ENV.join(' ')}; do
  if [ -n "\${!v+x}" ]; then vars+=("$v=\${!v}"); fi
done
printf '%s\\0' ${tool} "$PWD" "\${#vars[@]}" "\${vars[@]}" "$#" "$@" "$input" >&3
IFS= read -r -d '' code <&3 || exit 70
IFS= read -r -d '' err <&3
cat <&3
printf '%s' "$err" >&2
exit "$code"
`,
    );
    chmodSync(file, 0o755);
  }
}

/** A server in a process of its own (a test may call its clients with spawnSync); `close` stops it. */
export async function startFakeClusterServer(): Promise<{ port: number; close: () => void }> {
  const child: ChildProcess = spawn(process.execPath, [import.meta.filename], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`fake cluster server exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
  });
  return { port: Number(line), close: () => child.kill() };
}

if (import.meta.main) {
  process.stdout.write(`${await serve()}\n`);
  // Ends with whoever started it (its stdin closes), never left behind.
  process.stdin.on('end', () => process.exit(0)).resume();
}
