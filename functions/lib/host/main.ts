/**
 * The lean host's entry: `node functions/lib/host/main.ts --source <module> --target <name>` (or the
 * FUNCTION_TARGET / FUNCTION_SOURCE / PORT variables functions-framework and Knative use). Production
 * images run the bundled form of this with the function compiled in (scripts/build.ts).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createHostServer } from './server.ts';

const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    target: { type: 'string' },
    port: { type: 'string' },
  },
});

const source = values.source ?? process.env.FUNCTION_SOURCE;
const target = values.target ?? process.env.FUNCTION_TARGET;
const port = Number(values.port ?? process.env.PORT ?? 8080);
if (!target) {
  process.stderr.write('FUNCTION_TARGET (or --target) is required\n');
  process.exit(64);
}
if (source) await import(pathToFileURL(source).href);
const server = createHostServer({ target });
server.listen(port, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'serving', target, port: bound })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  });
}
