/**
 * The parts of prom-client the functions use, each loaded from its own file: the package's index also
 * loads its Pushgateway (`node:https` → TLS, zlib) and its cluster aggregator (`node:cluster`), which no
 * function uses and every cold start paid for (bench/README.md, "Cold start"). Same classes, same
 * registry semantics; the types are prom-client's own (./prom-client-parts.d.ts maps the files to them).
 */
import Counter from 'prom-client/lib/counter.js';
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import Registry from 'prom-client/lib/registry.js';

export { Counter, collectDefaultMetrics, Gauge, Histogram, Registry };
