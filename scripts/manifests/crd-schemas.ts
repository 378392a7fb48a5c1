/**
 * JSON Schemas for the custom resources kubernetes-models has no model for: RabbitMQ (cluster operator
 * and eventing-rabbitmq), Rook Ceph, lib-bucket-provisioner and the k3s Helm controller.
 * Each is the subset of the CRD's openAPIV3Schema for the fields we may use, with `required` as the
 * CRD or its controller demands and unknown `spec` fields rejected (a typo must fail, not be ignored).
 * Sources: rabbitmq/cluster-operator api/v1beta1, knative-extensions/eventing-rabbitmq
 * pkg/apis/eventing/v1alpha1, rook/rook deploy/examples/crds.yaml, kube-object-storage
 * lib-bucket-provisioner, k3s-io/helm-controller pkg/apis/helm.cattle.io/v1.
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
};
