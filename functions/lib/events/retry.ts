/**
 * Whether a delivery outcome is worth another attempt — Knative Eventing's rule (delivery spec, "retry"):
 * no response (`status` −1: refused, reset, timed out), 5xx, 404, 408, 409 and 429. Every other 4xx is
 * permanent: the event is refused (a producer gets ValidationFailed; a broker dead-letters it at once).
 * Used by the producers' HTTP transport and by the development broker's dispatcher.
 */
export function isRetryableStatus(status: number): boolean {
  return status < 0 || status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}
