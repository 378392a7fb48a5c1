/**
 * What the platform promises about each function (DESIGN §2, §3): the tests hold the manifests to it.
 * One name end to end: functions/<name>, FF target, Knative Service, 400-<name>.yaml, <name>.hcl.
 */
export interface FunctionSpec {
  name: string;
  /** Hot paths keep >= 3 warm replicas; the others scale to zero (unless `warm`). */
  hot: boolean;
  /** Not a hot path, but keeps exactly this many warm replicas (long-lived streams; a counter alerted on). */
  warm?: number;
  signature: 'http' | 'cloudevent';
  /** CloudEvent types it publishes through K_SINK (a SinkBinding). */
  emits: string[];
  /** CloudEvent types its Triggers subscribe it to. */
  consumes: string[];
}

export const FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'edge-auth', hot: true, signature: 'http', emits: [], consumes: [] },
  // catalog consumes nothing: rate-anime deletes the cached aggregate in the rating's own request.
  { name: 'catalog', hot: true, signature: 'http', emits: [], consumes: [] },
  { name: 'library', hot: true, signature: 'http', emits: ['dev.isekai.library.updated.v1'], consumes: [] },
  {
    name: 'rate-anime',
    hot: true,
    signature: 'http',
    emits: ['dev.isekai.rating.submitted.v1', 'dev.isekai.rating.removed.v1', 'dev.isekai.episode.rated.v1'],
    consumes: [],
  },
  {
    name: 'subtitles',
    hot: true,
    signature: 'http',
    emits: [
      'dev.isekai.subtitle.reported.v1',
      'dev.isekai.subtitle.removed.v1',
      'dev.isekai.subtitle.hidden.v1',
      'dev.isekai.subtitle.restored.v1',
    ],
    consumes: [],
  },
  {
    name: 'upload-subtitle',
    hot: false,
    signature: 'http',
    emits: ['dev.isekai.subtitle.uploaded.v1'],
    consumes: [],
  },
  {
    name: 'notify',
    hot: false,
    signature: 'cloudevent',
    emits: [],
    consumes: [
      'dev.isekai.subtitle.uploaded.v1',
      'dev.isekai.subtitle.removed.v1',
      'dev.isekai.subtitle.hidden.v1',
      'dev.isekai.subtitle.restored.v1',
      'dev.isekai.subtitle.reported.v1',
      'dev.isekai.episode.aired.v1',
      'dev.isekai.group.invited.v1',
      'dev.isekai.group.invitation.answered.v1',
      'dev.isekai.group.project.updated.v1',
    ],
  },
  // Holds live SSE streams: one warm replica, so a reconnect never waits for a cold start.
  { name: 'notifications', hot: false, warm: 1, signature: 'http', emits: [], consumes: [] },
  // Fansub groups: members and roles, invitations, translation projects, followers.
  {
    name: 'groups',
    hot: false,
    signature: 'http',
    emits: [
      'dev.isekai.group.invited.v1',
      'dev.isekai.group.invitation.answered.v1',
      'dev.isekai.group.member.joined.v1',
      'dev.isekai.group.member.left.v1',
      'dev.isekai.group.project.updated.v1',
    ],
    consumes: [],
  },
  // Republishes outbox rows of any type, so it emits through K_SINK but declares no type of its own.
  // outbox-relay republishes what producers could not publish, from both outbox sources (the PostgreSQL
  // outbox, the subtitle documents' pending events in MongoDB): any type.
  { name: 'outbox-relay', hot: false, signature: 'cloudevent', emits: ['*'], consumes: [] },
  // Partners' front door (events.isekai.dev): forwards their inbound events to the Broker.
  {
    name: 'integrator-ingress',
    hot: false,
    signature: 'http',
    emits: ['dev.isekai.episode.aired.v1'],
    consumes: [],
  },
  // Weekly backups of opted-in users' lists to object storage (PingSource tick).
  { name: 'library-backup', hot: false, signature: 'cloudevent', emits: [], consumes: [] },
  // The viewers' website (site/, Astro SSR): not a functions-framework function, but deployed, scaled and
  // secured like one (settings in site/src/lib/settings.ts).
  { name: 'site', hot: true, signature: 'http', emits: [], consumes: [] },
  // The dead-letter sink of the Broker and of every Trigger. One warm replica: its event counter is what
  // DeadLettersArriving alerts on, and a pod that came and went for one event leaves no increase() to see.
  { name: 'dead-letters', hot: false, warm: 1, signature: 'cloudevent', emits: [], consumes: [] },
];

/** Containers allowed a writable root filesystem, with the reason (see 600-keycloak.yaml). */
export const WRITABLE_ROOT_ALLOWED: Readonly<Record<string, string>> = {
  keycloak: 'non-optimized start re-augments Quarkus into /opt/keycloak/lib',
};

/**
 * Run-to-completion Jobs in `isekai` that read Vault themselves like the functions (functions/lib/secrets.ts):
 * one name for the Job, its ServiceAccount, image (<registry>/isekai/<name>), Vault role and <name>.hcl.
 */
export interface JobSpec {
  name: string;
  /** The manifest file holding it. */
  file: string;
  /** Settings Vault provides in the cluster (the local Secret without Vault); never set in the manifest. */
  vaultSettings: string[];
  /** Shared Vault secrets read (`kv/data/isekai/shared/<name>`). */
  sharedSecrets: string[];
}

export const JOBS: readonly JobSpec[] = [
  // Applies the SQL migrations once per release (scripts/migrate.ts) with the schema owner's DATABASE_URL.
  {
    name: 'schema-migrate',
    file: 'knative/base/250-schema-migrate.yaml',
    vaultSettings: ['DATABASE_URL'],
    sharedSecrets: [],
  },
];
