local cluster = std.extVar('cluster');
{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'dashboard' },
  data: { title: 'Dashboard of ' + cluster, panels: std.toString(3 * 2) },
}
