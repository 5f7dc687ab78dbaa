local lib = import 'labels.libsonnet';
function(replicas=1, tier='dev') [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: std.extVar('app') + '-web', labels: lib.labels(tier) },
    spec: { replicas: replicas },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: std.extVar('app') + '-settings' },
    data: { debug: std.toString(std.extVar('debug')) },
  },
]
