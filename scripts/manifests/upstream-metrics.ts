/**
 * The series our dashboards and alert rules read that our own code does not export, each with the component
 * that exports it, the scrape job of k3s/observability/prometheus.yml that collects it, and where its name is
 * documented or defined upstream. observability.test.ts holds every series a dashboard panel or an alert rule
 * names to this list or to the functions' registry (functions/lib/metrics.ts), and every entry here to a use
 * and an existing scrape job.
 *
 * Knative's names are those of the pinned version (k3s/versions.env KNATIVE_SERVING_VERSION, `knative` below):
 * up to 1.18 Knative exports OpenCensus views through knative.dev/pkg's Prometheus exporter, named
 * `<component>_<view>` (activator_request_count, autoscaler_actual_pods). Later versions move to OpenTelemetry
 * with other names (kn.revision.request.concurrency, …): a Knative bump fails the test until this list and the
 * dashboards are checked again.
 */

export interface UpstreamMetric {
  /** The Prometheus series name, as a query names it (a histogram's `_bucket` included). */
  name: string;
  /** The scrape job (prometheus.yml `job_name`) that collects it; `null` for Prometheus' own `up`. */
  job: string | null;
  /** Where the name is documented or defined. */
  source: string;
}

/** The Knative minor version whose metric names are listed below. */
export const KNATIVE_METRICS_VERSION = 'v1.18';

const KNATIVE_SERVING_METRICS =
  'https://knative.dev/v1.18-docs/serving/observability/metrics/serving-metrics/ (activator, autoscaler views; knative/serving pkg/autoscaler/metrics, pkg/activator/handler metrics.go; prefix = component, knative.dev/pkg metrics/prometheus_exporter.go)';
const RABBITMQ =
  'https://www.rabbitmq.com/docs/prometheus (rabbitmq_prometheus plugin, /metrics/per-object: queue_coarse_metrics, queue_consumer_count)';
const CEPH = 'https://docs.ceph.com/en/latest/mgr/prometheus/ (mgr prometheus module: ceph_cluster_total_*)';
const REDIS_EXPORTER =
  'https://github.com/oliver006/redis_exporter (README "What\'s exported": INFO memory → redis_memory_used_bytes, maxmemory → redis_memory_max_bytes)';
const CERT_MANAGER =
  'https://cert-manager.io/docs/devops-tips/prometheus-metrics/ (controller metrics on 9402: certmanager_certificate_expiration_timestamp_seconds)';

export const UPSTREAM_METRICS: UpstreamMetric[] = [
  {
    name: 'up',
    job: null,
    source: 'https://prometheus.io/docs/concepts/jobs_instances/ (set by Prometheus for every target)',
  },
  { name: 'rabbitmq_queue_messages_ready', job: 'rabbitmq', source: RABBITMQ },
  { name: 'rabbitmq_queue_messages_unacked', job: 'rabbitmq', source: RABBITMQ },
  { name: 'rabbitmq_queue_consumers', job: 'rabbitmq', source: RABBITMQ },
  { name: 'redis_memory_used_bytes', job: 'redis-sessions', source: REDIS_EXPORTER },
  { name: 'redis_memory_max_bytes', job: 'redis-sessions', source: REDIS_EXPORTER },
  { name: 'ceph_cluster_total_bytes', job: 'ceph', source: CEPH },
  { name: 'ceph_cluster_total_used_bytes', job: 'ceph', source: CEPH },
  { name: 'certmanager_certificate_expiration_timestamp_seconds', job: 'cert-manager', source: CERT_MANAGER },
  {
    name: 'probe_ssl_earliest_cert_expiry',
    job: 'edge-certificates',
    source:
      'https://github.com/prometheus/blackbox_exporter (prober/tls.go: earliest NotAfter of the presented chain, Unix seconds)',
  },
  { name: 'autoscaler_actual_pods', job: 'knative', source: KNATIVE_SERVING_METRICS },
  { name: 'autoscaler_desired_pods', job: 'knative', source: KNATIVE_SERVING_METRICS },
  { name: 'autoscaler_panic_mode', job: 'knative', source: KNATIVE_SERVING_METRICS },
  { name: 'activator_request_count', job: 'knative', source: KNATIVE_SERVING_METRICS },
  { name: 'activator_request_latencies_bucket', job: 'knative', source: KNATIVE_SERVING_METRICS },
];
