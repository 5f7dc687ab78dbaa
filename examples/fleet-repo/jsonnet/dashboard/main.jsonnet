// A dashboard definition per cluster; Argo CD passes the cluster name as an ext var.
local cluster = std.extVar('cluster');
local env = std.extVar('env');

{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'dashboard',
    labels: { 'fleet.example/dashboard': 'true' },
  },
  data: {
    'dashboard.json': std.manifestJsonEx({
      title: 'Cluster ' + cluster,
      environment: env,
      panels: ['cpu', 'memory', 'requests'],
    }, '  '),
  },
}
