/**
 * The lean host's CLI: `node functions/lib/host/main.ts --source <module> --target <name> [--port N]`
 * (or FUNCTION_SOURCE / FUNCTION_TARGET / PORT, the variables functions-framework and Knative use).
 * Production images run the bundled form (scripts/build.ts), with the function compiled in.
 */
import { parseArgs } from 'node:util';
import { exitOnStartupError, runHost } from './run.ts';

const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    target: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
});
const target = values.target ?? process.env.FUNCTION_TARGET;
if (!target) {
  process.stderr.write('FUNCTION_TARGET (or --target) is required\n');
  process.exit(64);
}
await runHost({
  target,
  source: values.source ?? process.env.FUNCTION_SOURCE,
  port: Number(values.port ?? process.env.PORT ?? 8080),
  host: values.host ?? process.env.HOST ?? '0.0.0.0',
}).catch(exitOnStartupError);
