import { describe, expect, it } from 'vitest';
import {
  brokers,
  isoDurationMs,
  ManifestError,
  parseManifests,
  pingSources,
  sinkBindings,
  triggers,
} from './load.ts';

describe('load: the event topology as the data plane reads it from knative/base', () => {
  it('gives notify one Trigger per consumed type, with delivery and parallelism', () => {
    const notify = triggers().filter((t) => t.subscriber.service === 'notify');
    expect(notify.map((t) => t.filter.type).sort()).toEqual([
      'dev.isekai.episode.aired.v1',
      'dev.isekai.group.invitation.answered.v1',
      'dev.isekai.group.invited.v1',
      'dev.isekai.group.project.updated.v1',
      'dev.isekai.subtitle.hidden.v1',
      'dev.isekai.subtitle.removed.v1',
      'dev.isekai.subtitle.reported.v1',
      'dev.isekai.subtitle.restored.v1',
      'dev.isekai.subtitle.uploaded.v1',
    ]);
    const removed = notify.find((t) => t.name === 'notify-subtitle-removed');
    expect(removed).toMatchObject({
      namespace: 'isekai',
      broker: 'default',
      parallelism: 1,
      subscriber: { service: 'notify', namespace: 'isekai' },
      delivery: {
        retry: 5,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.5S',
        deadLetterSink: { service: 'dead-letters' },
      },
    });
  });

  it('gives the RabbitMQ Broker with its config and dead-letter sink', () => {
    expect(brokers()).toEqual([
      {
        name: 'default',
        namespace: 'isekai',
        brokerClass: 'RabbitMQBroker',
        config: {
          apiVersion: 'eventing.knative.dev/v1alpha1',
          kind: 'RabbitmqBrokerConfig',
          name: 'isekai-broker-config',
          namespace: 'isekai',
        },
        delivery: {
          retry: 5,
          backoffPolicy: 'exponential',
          backoffDelay: 'PT0.5S',
          deadLetterSink: { service: 'dead-letters', namespace: 'isekai' },
        },
      },
    ]);
  });

  it('gives the producers bound to the Broker and the relay tick', () => {
    expect(
      sinkBindings()
        .map((s) => s.subject)
        .sort(),
    ).toEqual([
      'groups',
      'integrator-ingress',
      'library',
      'outbox-relay',
      'rate-anime',
      'subtitles',
      'upload-subtitle',
    ]);
    expect(sinkBindings().every((s) => s.sink.kind === 'Broker' && s.sink.name === 'default')).toBe(true);
    expect(pingSources()).toEqual([
      expect.objectContaining({
        name: 'library-backup-weekly',
        schedule: '0 3-6 * * 1',
        sink: { service: 'library-backup', namespace: 'isekai' },
      }),
      expect.objectContaining({
        name: 'outbox-relay-tick',
        schedule: '* * * * *',
        sink: { service: 'outbox-relay', namespace: 'isekai' },
      }),
      expect.objectContaining({
        name: 'notify-mail-tick',
        schedule: '*/5 * * * *',
        sink: { service: 'notify', namespace: 'isekai' },
      }),
    ]);
  });
});

describe('load: malformed manifests are rejected with the file and field named', () => {
  const trigger = (spec: string) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: t, namespace: isekai}
spec:
${spec}`;
  const subscriber = '  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: notify}}';

  it.each([
    ['a Trigger without filter', trigger(`  broker: default\n${subscriber}`), 'spec.filter'],
    [
      'a Trigger filtering without type',
      trigger(`  broker: default\n  filter: {attributes: {source: x}}\n${subscriber}`),
      'type is required',
    ],
    [
      'a Trigger sending to a URL',
      trigger('  broker: default\n  filter: {attributes: {type: x}}\n  subscriber: {uri: http://x}'),
      'subscriber.ref',
    ],
    [
      'a non-ISO backoff',
      trigger(
        `  broker: default\n  filter: {attributes: {type: x}}\n${subscriber}\n  delivery: {backoffDelay: 500ms}`,
      ),
      'ISO-8601',
    ],
    [
      'a Trigger without namespace',
      trigger(`  broker: default\n  filter: {attributes: {type: x}}\n${subscriber}`).replace(
        ', namespace: isekai',
        '',
      ),
      'namespace',
    ],
  ])('%s', (_name, text, field) => {
    expect(() => triggers(parseManifests(text, 'x.yaml'))).toThrow(ManifestError);
    expect(() => triggers(parseManifests(text, 'x.yaml'))).toThrow(field);
  });

  it('rejects YAML that is not a Kubernetes object', () => {
    expect(() => parseManifests('just: text\n', 'x.yaml')).toThrow(ManifestError);
    expect(() => parseManifests('a: [\n', 'x.yaml')).toThrow(ManifestError);
  });
});

describe('isoDurationMs', () => {
  it.each([
    ['PT0.5S', 500],
    ['PT1S', 1000],
    ['PT2M', 120_000],
    ['PT1H30M', 5_400_000],
    ['P1D', 86_400_000],
    ['P1DT0.2S', 86_400_200],
  ])('%s is %i ms', (text, ms) => expect(isoDurationMs(text)).toBe(ms));

  it.each(['500ms', 'P', 'PT', '0.5S', 'PT-1S', 'T1S', ''])('%s is not a duration', (text) =>
    expect(isoDurationMs(text)).toBeUndefined(),
  );
});
