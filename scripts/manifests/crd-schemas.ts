/**
 * JSON Schemas for the custom resources kubernetes-models has no model for: RabbitMQ (cluster operator
 * and eventing-rabbitmq), Rook Ceph, lib-bucket-provisioner, the k3s Helm controller and CloudNativePG.
 * Each is the subset of the CRD's openAPIV3Schema for the fields we may use, with `required` as the
 * CRD or its controller demands and unknown `spec` fields rejected (a typo must fail, not be ignored).
 * Sources: rabbitmq/cluster-operator api/v1beta1, knative-extensions/eventing-rabbitmq
 * pkg/apis/eventing/v1alpha1, rook/rook deploy/examples/crds.yaml, kube-object-storage
 * lib-bucket-provisioner, k3s-io/helm-controller pkg/apis/helm.cattle.io/v1, cloudnative-pg/cloudnative-pg
 * api/v1 (cluster_types.go, scheduledbackup_types.go, database_types.go; CRDs in releases/cnpg-1.26.1.yaml).
 */
type Schema = Record<string, unknown>;

const str: Schema = { type: 'string', minLength: 1 };
const bool: Schema = { type: 'boolean' };
const obj: Schema = { type: 'object' };
const int = (minimum = 0, maximum?: number): Schema => ({
  type: 'integer',
  minimum,
  ...(maximum ? { maximum } : {}),
});
/** Kubernetes resource.Quantity as a string ("500m", "1Gi", "2"). */
const quantity: Schema = {
  type: 'string',
  pattern: '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$',
};
const resources: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    requests: { type: 'object', additionalProperties: quantity },
    limits: { type: 'object', additionalProperties: quantity },
  },
};
const strict = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});
const resource = (spec: Schema): Schema => ({
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: { metadata: { type: 'object', required: ['name'] }, spec },
});
/** A resource made by `kubectl create` with a fresh name each time: name or generateName. */
const createdResource = (spec: Schema): Schema => ({
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    metadata: { type: 'object', anyOf: [{ required: ['name'] }, { required: ['generateName'] }] },
    spec,
  },
});

const replicatedPool = strict(
  {
    size: int(1, 9),
    requireSafeReplicaSize: bool,
    targetSizeRatio: { type: 'number' },
    replicasPerFailureDomain: int(1),
    subFailureDomain: str,
  },
  ['size'],
);
const erasureCodedPool = strict({ dataChunks: int(1), codingChunks: int(1), algorithm: str }, [
  'dataChunks',
  'codingChunks',
]);
const poolSpec = strict({
  failureDomain: {
    enum: ['host', 'osd', 'rack', 'zone', 'region', 'datacenter', 'room', 'pod', 'pdu', 'row', 'chassis'],
  },
  replicated: replicatedPool,
  erasureCoded: erasureCodedPool,
  deviceClass: str,
  crushRoot: str,
  enableRBDStats: bool,
  compressionMode: { enum: ['none', 'passive', 'aggressive', 'force'] },
  parameters: { type: 'object', additionalProperties: { type: 'string' } },
  mirroring: obj,
  statusCheck: obj,
  quotas: obj,
  name: str,
  application: str,
});

/** A reference to a key of a Secret (CloudNativePG `SecretKeySelector`). */
const secretKey = strict({ name: str, key: str }, ['name', 'key']);
/** A reference to a Secret by name (CloudNativePG `LocalObjectReference`). */
const secretName = strict({ name: str }, ['name']);
/** barman-cloud's object store settings (CloudNativePG `BarmanObjectStoreConfiguration`), S3 only here. */
const barmanObjectStore = strict(
  {
    destinationPath: { type: 'string', pattern: '^s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/.*)?$' },
    endpointURL: { type: 'string', pattern: '^https?://' },
    endpointCA: secretKey,
    serverName: str,
    s3Credentials: strict(
      {
        accessKeyId: secretKey,
        secretAccessKey: secretKey,
        region: secretKey,
        sessionToken: secretKey,
        inheritFromIAMRole: bool,
      },
      [],
    ),
    wal: strict({
      compression: { enum: ['bzip2', 'gzip', 'snappy'] },
      encryption: { enum: ['AES256', 'aws:kms'] },
      maxParallel: int(1),
    }),
    data: strict({
      compression: { enum: ['bzip2', 'gzip', 'snappy'] },
      encryption: { enum: ['AES256', 'aws:kms'] },
      immediateCheckpoint: bool,
      jobs: int(1),
      additionalCommandArgs: { type: 'array', items: str },
    }),
    tags: { type: 'object', additionalProperties: { type: 'string' } },
    historyTags: { type: 'object', additionalProperties: { type: 'string' } },
  },
  ['destinationPath'],
);
const cnpgCluster = strict(
  {
    description: str,
    instances: int(1),
    imageName: str,
    imagePullPolicy: { enum: ['Always', 'Never', 'IfNotPresent'] },
    postgresUID: int(0),
    postgresGID: int(0),
    primaryUpdateStrategy: { enum: ['unsupervised', 'supervised'] },
    primaryUpdateMethod: { enum: ['switchover', 'restart'] },
    minSyncReplicas: int(0),
    maxSyncReplicas: int(0),
    enablePDB: bool,
    enableSuperuserAccess: bool,
    superuserSecret: secretName,
    startDelay: int(1),
    stopDelay: int(1),
    smartShutdownTimeout: int(0),
    switchoverDelay: int(0),
    failoverDelay: int(0),
    logLevel: { enum: ['error', 'warning', 'info', 'debug', 'trace'] },
    priorityClassName: str,
    inheritedMetadata: strict({
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
    }),
    postgresql: strict({
      parameters: { type: 'object', additionalProperties: { type: 'string' } },
      pg_hba: { type: 'array', items: str },
      pg_ident: { type: 'array', items: str },
      shared_preload_libraries: { type: 'array', items: str },
      synchronous: strict(
        {
          method: { enum: ['any', 'first'] },
          number: int(1),
          maxStandbyNamesFromCluster: int(0),
          standbyNamesPre: { type: 'array', items: str },
          standbyNamesPost: { type: 'array', items: str },
          dataDurability: { enum: ['required', 'preferred'] },
        },
        ['method', 'number'],
      ),
      ldap: obj,
      promotionTimeout: int(0),
      enableAlterSystem: bool,
    }),
    bootstrap: strict({
      initdb: strict({
        database: str,
        owner: str,
        secret: secretName,
        dataChecksums: bool,
        encoding: str,
        localeCollate: str,
        localeCType: str,
        walSegmentSize: int(1, 1024),
        options: { type: 'array', items: str },
        postInitSQL: { type: 'array', items: str },
        postInitApplicationSQL: { type: 'array', items: str },
        postInitTemplateSQL: { type: 'array', items: str },
        postInitSQLRefs: obj,
        postInitApplicationSQLRefs: obj,
        postInitTemplateSQLRefs: obj,
        import: obj,
      }),
      recovery: strict({
        source: str,
        backup: secretName,
        volumeSnapshots: obj,
        database: str,
        owner: str,
        secret: secretName,
        recoveryTarget: strict({
          backupID: str,
          targetTLI: str,
          targetXID: str,
          targetName: str,
          targetLSN: str,
          targetTime: str,
          targetImmediate: bool,
          exclusive: bool,
        }),
      }),
      pg_basebackup: strict({ source: str, database: str, owner: str, secret: secretName }, ['source']),
    }),
    externalClusters: {
      type: 'array',
      items: strict(
        {
          name: str,
          connectionParameters: { type: 'object', additionalProperties: { type: 'string' } },
          password: secretKey,
          sslCert: secretKey,
          sslKey: secretKey,
          sslRootCert: secretKey,
          barmanObjectStore,
          plugin: obj,
        },
        ['name'],
      ),
    },
    managed: strict({
      roles: {
        type: 'array',
        items: strict(
          {
            name: str,
            ensure: { enum: ['present', 'absent'] },
            comment: str,
            login: bool,
            superuser: bool,
            createdb: bool,
            createrole: bool,
            inherit: bool,
            replication: bool,
            bypassrls: bool,
            connectionLimit: { type: 'integer', minimum: -1 },
            validUntil: str,
            inRoles: { type: 'array', items: str },
            passwordSecret: secretName,
            disablePassword: bool,
          },
          ['name'],
        ),
      },
      services: obj,
    }),
    storage: strict({
      size: quantity,
      storageClass: str,
      resizeInUseVolumes: bool,
      pvcTemplate: obj,
    }),
    walStorage: strict({ size: quantity, storageClass: str, resizeInUseVolumes: bool, pvcTemplate: obj }),
    affinity: strict({
      enablePodAntiAffinity: bool,
      topologyKey: str,
      podAntiAffinityType: { enum: ['preferred', 'required'] },
      nodeSelector: { type: 'object', additionalProperties: { type: 'string' } },
      nodeAffinity: obj,
      tolerations: { type: 'array' },
      additionalPodAntiAffinity: obj,
      additionalPodAffinity: obj,
    }),
    topologySpreadConstraints: { type: 'array' },
    resources,
    backup: strict({
      barmanObjectStore,
      retentionPolicy: { type: 'string', pattern: '^[1-9][0-9]*[dwm]$' },
      target: { enum: ['primary', 'prefer-standby'] },
      volumeSnapshot: obj,
    }),
    monitoring: obj,
    certificates: obj,
    serviceAccountTemplate: obj,
    env: { type: 'array' },
    envFrom: { type: 'array' },
    replica: obj,
    plugins: { type: 'array' },
    probes: obj,
    podSecurityContext: obj,
    securityContext: obj,
    seccompProfile: obj,
    tablespaces: { type: 'array' },
    replicationSlots: obj,
    nodeMaintenanceWindow: strict({ inProgress: bool, reusePVC: bool }),
  },
  ['instances'],
);

/** Schemas keyed by `apiVersion/kind`. */
export const CRD_SCHEMAS: Record<string, Schema> = {
  'eventing.knative.dev/v1alpha1/RabbitmqBrokerConfig': resource(
    strict(
      {
        rabbitmqClusterReference: strict(
          { name: str, namespace: str, connectionSecret: strict({ name: str }, ['name']) },
          [],
        ),
        queueType: { enum: ['quorum', 'classic'] },
        vhost: str,
      },
      ['rabbitmqClusterReference'],
    ),
  ),
  'rabbitmq.com/v1beta1/RabbitmqCluster': resource(
    strict({
      replicas: int(0),
      image: str,
      imagePullSecrets: { type: 'array' },
      service: obj,
      persistence: strict({ storageClassName: str, storage: quantity }),
      resources,
      affinity: obj,
      tolerations: { type: 'array' },
      rabbitmq: strict({
        additionalPlugins: { type: 'array', items: str },
        additionalConfig: { type: 'string' },
        advancedConfig: { type: 'string' },
        envConfig: { type: 'string' },
        erlangInetConfig: { type: 'string' },
      }),
      tls: obj,
      override: obj,
      terminationGracePeriodSeconds: int(0),
      skipPostDeploySteps: bool,
      secretBackend: obj,
      delayStartSeconds: int(0),
      autoEnableAllFeatureFlags: bool,
    }),
  ),
  'ceph.rook.io/v1/CephCluster': resource(
    strict(
      {
        cephVersion: strict({ image: str, allowUnsupported: bool, imagePullPolicy: str }, ['image']),
        dataDirHostPath: { type: 'string', pattern: '^/' },
        mon: strict({ count: int(1, 9), allowMultiplePerNode: bool, volumeClaimTemplate: obj }, ['count']),
        mgr: strict({ count: int(1, 5), allowMultiplePerNode: bool, modules: { type: 'array' } }),
        dashboard: strict({ enabled: bool, ssl: bool, port: int(0), urlPrefix: str }),
        crashCollector: strict({ disable: bool, daysToRetain: int(0) }),
        placement: { type: 'object', additionalProperties: obj },
        storage: strict({
          useAllNodes: bool,
          useAllDevices: bool,
          deviceFilter: str,
          nodes: { type: 'array' },
          config: obj,
          storageClassDeviceSets: { type: 'array' },
        }),
        resources: { type: 'object', additionalProperties: resources },
        priorityClassNames: { type: 'object', additionalProperties: { type: 'string' } },
        disruptionManagement: obj,
        network: obj,
        monitoring: obj,
        healthCheck: obj,
        cleanupPolicy: obj,
        logCollector: obj,
        annotations: obj,
        labels: obj,
        security: obj,
        cephConfig: obj,
        continueUpgradeAfterChecksEvenIfNotHealthy: bool,
        skipUpgradeChecks: bool,
        waitTimeoutForHealthyOSDInMinutes: int(0),
        removeOSDsIfOutAndSafeToRemove: bool,
      },
      ['cephVersion', 'dataDirHostPath'],
    ),
  ),
  'ceph.rook.io/v1/CephBlockPool': resource(poolSpec),
  'ceph.rook.io/v1/CephObjectStore': resource(
    strict(
      {
        metadataPool: poolSpec,
        dataPool: poolSpec,
        preservePoolsOnDelete: bool,
        gateway: strict({
          port: int(1, 65535),
          securePort: int(1, 65535),
          instances: int(1),
          placement: obj,
          resources,
          sslCertificateRef: str,
          caBundleRef: str,
          priorityClassName: str,
          annotations: obj,
          labels: obj,
          service: obj,
          hostNetwork: bool,
          dashboardEnabled: bool,
        }),
        healthCheck: obj,
        zone: obj,
        security: obj,
        sharedPools: obj,
        hosting: obj,
        protocols: obj,
        auth: obj,
        allowUsersInNamespaces: { type: 'array' },
        defaultRealm: bool,
      },
      ['gateway'],
    ),
  ),
  'objectbucket.io/v1alpha1/ObjectBucketClaim': resource({
    ...strict(
      {
        storageClassName: str,
        bucketName: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' },
        generateBucketName: str,
        additionalConfig: { type: 'object', additionalProperties: { type: 'string' } },
      },
      ['storageClassName'],
    ),
    oneOf: [{ required: ['bucketName'] }, { required: ['generateBucketName'] }],
  }),
  'helm.cattle.io/v1/HelmChart': resource(
    strict(
      {
        chart: str,
        repo: { type: 'string', pattern: '^(https|oci)://' },
        version: str,
        targetNamespace: str,
        createNamespace: bool,
        valuesContent: { type: 'string' },
        set: { type: 'object' },
        helmVersion: str,
        bootstrap: bool,
        chartContent: str,
        jobImage: str,
        timeout: str,
        failurePolicy: { enum: ['reinstall', 'abort'] },
        backOffLimit: int(0),
        authSecret: obj,
        repoCA: str,
        insecureSkipTLSVerify: bool,
        plainHTTP: bool,
        takeOwnership: bool,
      },
      ['chart'],
    ),
  ),
  'postgresql.cnpg.io/v1/Cluster': resource(cnpgCluster),
  'postgresql.cnpg.io/v1/ScheduledBackup': resource(
    strict(
      {
        // Six fields: seconds first (robfig/cron), unlike a CronJob's five.
        schedule: { type: 'string', pattern: '^\\S+( \\S+){5}$' },
        cluster: secretName,
        immediate: bool,
        suspend: bool,
        backupOwnerReference: { enum: ['none', 'self', 'cluster'] },
        target: { enum: ['primary', 'prefer-standby'] },
        method: { enum: ['barmanObjectStore', 'volumeSnapshot', 'plugin'] },
        online: bool,
        onlineConfiguration: obj,
        pluginConfiguration: obj,
      },
      ['schedule', 'cluster'],
    ),
  ),
  // An on-demand base backup (cloudnative-pg api/v1 backup_types.go BackupSpec).
  'postgresql.cnpg.io/v1/Backup': createdResource(
    strict(
      {
        cluster: secretName,
        target: { enum: ['primary', 'prefer-standby'] },
        method: { enum: ['barmanObjectStore', 'volumeSnapshot', 'plugin'] },
        online: bool,
        onlineConfiguration: obj,
        pluginConfiguration: obj,
      },
      ['cluster'],
    ),
  ),
  'postgresql.cnpg.io/v1/Database': resource(
    strict(
      {
        cluster: secretName,
        name: str,
        owner: str,
        ensure: { enum: ['present', 'absent'] },
        databaseReclaimPolicy: { enum: ['retain', 'delete'] },
        template: str,
        encoding: str,
        locale: str,
        localeProvider: str,
        localeCollate: str,
        localeCType: str,
        icuLocale: str,
        icuRules: str,
        builtinLocale: str,
        collationVersion: str,
        isTemplate: bool,
        allowConnections: bool,
        connectionLimit: { type: 'integer', minimum: -1 },
        tablespace: str,
        extensions: { type: 'array' },
        schemas: { type: 'array' },
      },
      ['cluster', 'name', 'owner'],
    ),
  ),
};
