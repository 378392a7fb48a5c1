import pino from 'pino';

export type Logger = pino.Logger;

interface LoggerOptions {
  readonly service: string;
  readonly level?: string;
  /** Returns the current trace id so every line inside a request carries it. */
  readonly traceId?: () => string | undefined;
  /** Where lines go; defaults to stdout. Tests pass a stream to read lines back. */
  readonly destination?: pino.DestinationStream;
}

/**
 * JSON-lines logger (pino). Each line carries `service` and, inside a traced scope, `traceId`.
 * Error logs should carry `code` (an ErrorCode); event logs `ce.id` and `ce.type`.
 * Authorization headers and tokens are redacted.
 */
export function createLogger(options: LoggerOptions): Logger {
  const traceId = options.traceId;
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['req.headers.authorization', 'token', '*.token', 'password', '*.password'],
        censor: '[redacted]',
      },
      ...(traceId
        ? {
            mixin: () => {
              const id = traceId();
              return id ? { traceId: id } : {};
            },
          }
        : {}),
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
