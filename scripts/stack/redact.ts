/** A URL for a log line: its password replaced by `***`. @example redact('amqp://guest:guest@h/v') // 'amqp://guest:***@h/v' */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]+@/, '//$1:***@');
}
