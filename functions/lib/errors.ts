/**
 * Errors with stable codes. Codes are the contract (tests and clients match on them); messages are for
 * people. Codes become HTTP statuses and problem+json `type`s only at the HTTP boundary (problem.ts).
 */

/** The closed set of error codes used across Isekai. */
export type ErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'gone'
  | 'unauthenticated'
  | 'forbidden'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'rate_limited'
  | 'dependency_unavailable'
  | 'delivery_failed'
  | 'config_invalid'
  | 'internal';

/** One problem with one field of the input (JSON pointer, or a setting name). */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
  /** The values the field may take, when it is an enumeration (statuses, reasons, formats). */
  readonly allowed?: readonly unknown[];
}

interface IsekaiErrorOptions {
  readonly cause?: unknown;
  readonly issues?: readonly FieldIssue[];
  /** Seconds after which a retry may succeed (dependency_unavailable, rate_limited). */
  readonly retryAfter?: number;
}

/** Base class of every error Isekai raises on purpose. */
export abstract class IsekaiError extends Error {
  abstract readonly code: ErrorCode;
  /** Whether the broker should redeliver an event that failed with this error. */
  readonly transient: boolean = false;
  readonly issues: readonly FieldIssue[];
  readonly retryAfter: number | undefined;

  constructor(message: string, options: IsekaiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.issues = options.issues ?? [];
    this.retryAfter = options.retryAfter;
  }
}

/** Input failed validation; `issues` names each bad field. */
export class ValidationFailed extends IsekaiError {
  readonly code = 'validation_failed';
}
export class NotFound extends IsekaiError {
  readonly code = 'not_found';
}
export class MethodNotAllowed extends IsekaiError {
  readonly code = 'method_not_allowed';
  readonly allow: readonly string[];
  constructor(allow: readonly string[]) {
    super(`method not allowed; allowed: ${allow.join(', ')}`);
    this.allow = allow;
  }
}
export class Conflict extends IsekaiError {
  readonly code = 'conflict';
}
/** The resource existed and was taken down on purpose (a removed subtitle). */
export class Gone extends IsekaiError {
  readonly code = 'gone';
}
/** No usable credentials. `reason` becomes the RFC 6750 `error` in WWW-Authenticate. */
export class Unauthenticated extends IsekaiError {
  readonly code = 'unauthenticated';
  readonly reason: 'invalid_token' | undefined;
  constructor(message: string, options: IsekaiErrorOptions & { reason?: 'invalid_token' } = {}) {
    super(message, options);
    this.reason = options.reason;
  }
}
export class Forbidden extends IsekaiError {
  readonly code = 'forbidden';
}
export class PayloadTooLarge extends IsekaiError {
  readonly code = 'payload_too_large';
  readonly limitBytes: number;
  /** `message` names what is too large when it is not the request body (an answer to be built). */
  constructor(
    limitBytes: number,
    message = `request body exceeds the limit of ${limitBytes} bytes for this route`,
  ) {
    super(message);
    this.limitBytes = limitBytes;
  }
}
export class UnsupportedMediaType extends IsekaiError {
  readonly code = 'unsupported_media_type';
}
/** The input has the right media type but its content cannot be used (a subtitle file that does not parse). */
export class Unprocessable extends IsekaiError {
  readonly code = 'unprocessable';
}
export class RateLimited extends IsekaiError {
  readonly code = 'rate_limited';
  override readonly transient = true;
}
/** A dependency (database, cache, broker, object store) is down or its circuit is open. */
export class DependencyUnavailable extends IsekaiError {
  readonly code = 'dependency_unavailable';
  override readonly transient = true;
  readonly dependency: string;
  constructor(dependency: string, options: IsekaiErrorOptions = {}) {
    super(`${dependency} is unavailable`, options);
    this.dependency = dependency;
  }
}
/**
 * An event could not be delivered to its subscriber after every attempt its delivery spec allows (the
 * broker dead-letters or drops it). Permanent: retrying is what already failed.
 */
export class DeliveryFailed extends IsekaiError {
  readonly code = 'delivery_failed';
}
/** A setting is missing or malformed; raised once at start-up. */
export class ConfigInvalid extends IsekaiError {
  readonly code = 'config_invalid';
}
export class Internal extends IsekaiError {
  readonly code = 'internal';
  override readonly transient = true;
}

/** Narrow an unknown thrown value to an IsekaiError, wrapping anything else as `internal`. */
export function asIsekaiError(error: unknown): IsekaiError {
  if (error instanceof IsekaiError) return error;
  return new Internal('unexpected error', { cause: error });
}
