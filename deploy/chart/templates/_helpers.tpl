{{/*
Names, labels and the pieces every workload shares: the fleet command line, the environment (settings
and credentials from existing Secrets), the volumes and the security contexts.
*/}}

{{- define "fleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fleet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "fleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fleet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "fleet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "fleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fleet.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "fleet.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The KubeRay head service of the RayCluster (KubeRay names it <cluster>-head-svc). */}}
{{- define "fleet.rayAddress" -}}
{{- printf "ray://%s-ray-head-svc.%s.svc:%d" (include "fleet.fullname" .) .Release.Namespace (int .Values.ray.clientPort) -}}
{{- end -}}

{{/* Where each mounted file is read from (the fleet container, Ray pods and the RayJob entrypoint agree). */}}
{{- define "fleet.paths.management" -}}/etc/fleet/management{{- end -}}
{{- define "fleet.paths.storeDir" -}}/var/lib/fleet{{- end -}}

{{/*
The arguments after `fleet`, as a JSON list. Call with (dict "root" $ "command" "sync"|"serve"
"style" "kubernetes"|"shell"): the repository from a Secret is $(FLEET_REPOSITORY) for Kubernetes'
own expansion in container args, "$FLEET_REPOSITORY" in a shell entrypoint (the RayJob).
*/}}
{{- define "fleet.argList" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $args := list "--log-format" $v.fleet.logFormat .command -}}
{{- if $v.fleet.repositorySecret.name -}}
{{- $args = append $args (ternary "$(FLEET_REPOSITORY)" "${FLEET_REPOSITORY}" (eq .style "kubernetes")) -}}
{{- else -}}
{{- $args = append $args $v.fleet.repository -}}
{{- end -}}
{{- if eq .command "serve" -}}
{{- $args = concat $args (list "--listen" (printf "0.0.0.0:%d" (int $v.serve.port))) -}}
{{- if $v.serve.schedule -}}
{{- $args = concat $args (list "--schedule" $v.serve.schedule) -}}
{{- else -}}
{{- $args = concat $args (list "--every" $v.serve.every) -}}
{{- end -}}
{{- end -}}
{{- if $v.fleet.revision -}}
{{- $args = concat $args (list "--revision" $v.fleet.revision) -}}
{{- end -}}
{{- if $v.clusters.argocd.enabled -}}
{{- $args = concat $args (list "--kubeconfig" (printf "%s/kubeconfig" (include "fleet.paths.management" $root)) "--argocd-context" "management" "--argocd-namespace" $v.clusters.argocd.namespace) -}}
{{- end -}}
{{- if $v.clusters.kubeconfigSecret.name -}}
{{- $args = concat $args (list "--clusters" "/etc/fleet/clusters/kubeconfig") -}}
{{- end -}}
{{- if $v.clusters.clusterSecretsSecret.name -}}
{{- $args = concat $args (list "--clusters" "/etc/fleet/cluster-secrets/clusters.yaml") -}}
{{- end -}}
{{- if $v.fleet.selector -}}
{{- $args = concat $args (list "--selector" $v.fleet.selector) -}}
{{- end -}}
{{- range $v.fleet.apps -}}
{{- $args = concat $args (list "--app" .) -}}
{{- end -}}
{{- if $v.fleet.prune -}}
{{- $args = append $args "--prune" -}}
{{- end -}}
{{- $executor := ternary "ray" $v.fleet.executor $v.ray.enabled -}}
{{- $args = concat $args (list "--executor" $executor) -}}
{{- if and $v.ray.enabled (eq $v.ray.kind "RayCluster") -}}
{{- $args = concat $args (list "--ray-address" (include "fleet.rayAddress" $root)) -}}
{{- end -}}
{{- /* The Ray pods run fleet's own image: the workers import the fleet installed there. */ -}}
{{- if $v.ray.enabled -}}
{{- $args = concat $args (list "--ray-runtime-env" "none") -}}
{{- end -}}
{{- $args = concat $args (list "--concurrency" (toString (int $v.fleet.concurrency)) "--cluster-timeout" (toString $v.fleet.clusterTimeout)) -}}
{{- if eq .command "sync" -}}
{{- $args = concat $args (list "--health-timeout" (toString $v.fleet.healthTimeout)) -}}
{{- end -}}
{{- if $v.fleet.lockWait -}}
{{- $args = concat $args (list "--lock-wait" $v.fleet.lockWait) -}}
{{- end -}}
{{- $args = concat $args $v.fleet.extraArgs -}}
{{- toJson $args -}}
{{- end -}}

{{/* The RayJob entrypoint: the same arguments, quoted for a shell (single quotes, ' escaped). */}}
{{- define "fleet.shellCommand" -}}
{{- $words := list "fleet" -}}
{{- range (include "fleet.argList" (dict "root" . "command" "sync" "style" "shell") | fromJsonArray) -}}
{{- if eq . "${FLEET_REPOSITORY}" -}}
{{- $words = append $words "\"${FLEET_REPOSITORY}\"" -}}
{{- else -}}
{{- $words = append $words (printf "'%s'" (replace "'" "'\\''" (toString .))) -}}
{{- end -}}
{{- end -}}
{{- join " " $words -}}
{{- end -}}

{{/* Settings and credentials as environment variables; credentials only through secretKeyRef. */}}
{{- define "fleet.env" -}}
{{- $v := .Values -}}
- name: HOME
  value: /home/fleet
- name: FLEET_CACHE_DIR
  value: /var/cache/fleet
- name: FLEET_STATE_DIR
  value: {{ include "fleet.paths.storeDir" . }}
{{- if eq $v.store.type "postgresql" }}
- name: FLEET_STORE
  valueFrom:
    secretKeyRef:
      name: {{ $v.store.postgresql.urlSecret.name }}
      key: {{ $v.store.postgresql.urlSecret.key }}
{{- else }}
- name: FLEET_STORE
  value: {{ printf "sqlite:///%s/status.db" (include "fleet.paths.storeDir" .) }}
{{- end }}
{{- if $v.fleet.repositorySecret.name }}
- name: FLEET_REPOSITORY
  valueFrom:
    secretKeyRef:
      name: {{ $v.fleet.repositorySecret.name }}
      key: {{ $v.fleet.repositorySecret.key }}
{{- end }}
{{- with $v.secretBackends.vault }}
{{- if .address }}
- name: VAULT_ADDR
  value: {{ .address | quote }}
- name: VAULT_AUTH_METHOD
  value: {{ .authMethod | quote }}
{{- if .namespace }}
- name: VAULT_NAMESPACE
  value: {{ .namespace | quote }}
{{- end }}
{{- if and (eq .authMethod "token") .tokenSecret.name }}
- name: VAULT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .tokenSecret.name }}
      key: {{ .tokenSecret.key }}
{{- end }}
{{- if eq .authMethod "approle" }}
- name: VAULT_ROLE_ID
  valueFrom:
    secretKeyRef:
      name: {{ .appRoleSecret.name }}
      key: {{ .appRoleSecret.roleIdKey }}
- name: VAULT_SECRET_ID
  valueFrom:
    secretKeyRef:
      name: {{ .appRoleSecret.name }}
      key: {{ .appRoleSecret.secretIdKey }}
{{- end }}
{{- if eq .authMethod "kubernetes" }}
- name: VAULT_ROLE_ID
  value: {{ .kubernetesRole | quote }}
- name: VAULT_KUBERNETES_MOUNT_POINT
  value: {{ .kubernetesMount | quote }}
- name: VAULT_KUBERNETES_JWT_TOKEN_PATH
  value: {{ printf "%s/token" (include "fleet.paths.management" $) }}
{{- end }}
{{- if .caSecret.name }}
- name: VAULT_CACERT
  value: /etc/fleet/vault/ca.crt
{{- end }}
{{- end }}
{{- end }}
{{- with $v.secretBackends.aws }}
{{- if .region }}
- name: AWS_REGION
  value: {{ .region | quote }}
{{- end }}
{{- if .credentialsSecret.name }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .credentialsSecret.name }}
      key: {{ .credentialsSecret.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .credentialsSecret.name }}
      key: {{ .credentialsSecret.secretAccessKeyKey }}
{{- if .credentialsSecret.sessionTokenKey }}
- name: AWS_SESSION_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .credentialsSecret.name }}
      key: {{ .credentialsSecret.sessionTokenKey }}
{{- end }}
{{- end }}
{{- end }}
{{- if $v.secretBackends.sops.ageKeySecret.name }}
- name: SOPS_AGE_KEY_FILE
  value: /etc/fleet/sops/keys.txt
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Volumes: the writable scratch directories (the root filesystem is read-only), the management
kubeconfig with its projected token, and each Secret the values name. Call with (dict "root" $ "ray" bool):
Ray pods get /dev/shm for the object store, and a scratch store directory instead of the PVC (the
RayJob's driver records into PostgreSQL; see values.schema.json).
*/}}
{{- define "fleet.volumes" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
- name: tmp
  emptyDir: {}
- name: home
  emptyDir: {}
- name: cache
  emptyDir: {}
{{- if or .ray (eq $v.fleet.executor "ray") }}
- name: dshm
  emptyDir:
    medium: Memory
    sizeLimit: 1Gi
{{- end }}
{{- if and (not .ray) (eq $v.store.type "sqlite") $v.store.sqlite.persistence.enabled }}
- name: store
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-store" (include "fleet.fullname" $root)) $v.store.sqlite.persistence.existingClaim }}
{{- else }}
- name: store
  emptyDir: {}
{{- end }}
- name: management
  projected:
    sources:
      - configMap:
          name: {{ include "fleet.fullname" $root }}-management
          items:
            - key: kubeconfig
              path: kubeconfig
      - serviceAccountToken:
          path: token
          expirationSeconds: {{ int $v.clusters.argocd.tokenExpirationSeconds }}
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
{{- with $v.clusters.kubeconfigSecret }}
{{- if .name }}
- name: clusters-kubeconfig
  secret:
    secretName: {{ .name }}
    items:
      - key: {{ .key }}
        path: kubeconfig
{{- end }}
{{- end }}
{{- with $v.clusters.clusterSecretsSecret }}
{{- if .name }}
- name: cluster-secrets
  secret:
    secretName: {{ .name }}
    items:
      - key: {{ .key }}
        path: clusters.yaml
{{- end }}
{{- end }}
{{- if $v.secretBackends.sops.ageKeySecret.name }}
- name: sops-age
  secret:
    secretName: {{ $v.secretBackends.sops.ageKeySecret.name }}
    items:
      - key: {{ $v.secretBackends.sops.ageKeySecret.key }}
        path: keys.txt
{{- end }}
{{- if and $v.secretBackends.vault.address $v.secretBackends.vault.caSecret.name }}
- name: vault-ca
  secret:
    secretName: {{ $v.secretBackends.vault.caSecret.name }}
    items:
      - key: {{ $v.secretBackends.vault.caSecret.key }}
        path: ca.crt
{{- end }}
{{- with $v.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "fleet.volumeMounts" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: /home/fleet
- name: cache
  mountPath: /var/cache/fleet
{{- if or .ray (eq $v.fleet.executor "ray") }}
- name: dshm
  mountPath: /dev/shm
{{- end }}
- name: store
  mountPath: {{ include "fleet.paths.storeDir" $root }}
- name: management
  mountPath: {{ include "fleet.paths.management" $root }}
  readOnly: true
{{- if $v.clusters.kubeconfigSecret.name }}
- name: clusters-kubeconfig
  mountPath: /etc/fleet/clusters
  readOnly: true
{{- end }}
{{- if $v.clusters.clusterSecretsSecret.name }}
- name: cluster-secrets
  mountPath: /etc/fleet/cluster-secrets
  readOnly: true
{{- end }}
{{- if $v.secretBackends.sops.ageKeySecret.name }}
- name: sops-age
  mountPath: /etc/fleet/sops
  readOnly: true
{{- end }}
{{- if and $v.secretBackends.vault.address $v.secretBackends.vault.caSecret.name }}
- name: vault-ca
  mountPath: /etc/fleet/vault
  readOnly: true
{{- end }}
{{- with $v.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The pod's security context: a non-root numeric user (the image's), seccomp RuntimeDefault. */}}
{{- define "fleet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Every container: read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "fleet.securityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Scheduling and identity shared by every pod of the release. */}}
{{- define "fleet.podCommon" -}}
serviceAccountName: {{ include "fleet.serviceAccountName" . }}
{{- /* Only the projected token of the management volume; no automatic token mount. */}}
automountServiceAccountToken: false
securityContext:
  {{- include "fleet.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A Ray node's pod template (KubeRay replaces the container's command with `ray start`). Call with
(dict "root" $ "role" "head"|"worker"). Ray nodes run the Application work, so they get the secret
backends' settings and credentials; the head also runs the RayJob's driver.
*/}}
{{- define "fleet.rayPodTemplate" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
metadata:
  labels:
    {{- include "fleet.selectorLabels" $root | nindent 4 }}
    app.kubernetes.io/component: ray-{{ .role }}
spec:
  {{- include "fleet.podCommon" $root | nindent 2 }}
  containers:
    - name: ray-{{ .role }}
      image: {{ include "fleet.image" $root }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      {{- if eq .role "head" }}
      ports:
        - name: gcs-server
          containerPort: 6379
        - name: dashboard
          containerPort: 8265
        - name: client
          containerPort: {{ int $v.ray.clientPort }}
      {{- end }}
      env:
        {{- include "fleet.env" $root | nindent 8 }}
      securityContext:
        {{- include "fleet.securityContext" $root | nindent 8 }}
      resources:
        {{- toYaml (ternary $v.ray.head.resources $v.ray.workers.resources (eq .role "head")) | nindent 8 }}
      volumeMounts:
        {{- include "fleet.volumeMounts" (dict "root" $root "ray" true) | nindent 8 }}
  volumes:
    {{- include "fleet.volumes" (dict "root" $root "ray" true) | nindent 4 }}
{{- end -}}

{{- define "fleet.rayClusterSpec" -}}
rayVersion: {{ .Values.ray.rayVersion | quote }}
headGroupSpec:
  rayStartParams:
    dashboard-host: 0.0.0.0
    ray-client-server-port: {{ int .Values.ray.clientPort | quote }}
  template:
    {{- include "fleet.rayPodTemplate" (dict "root" . "role" "head") | nindent 4 }}
workerGroupSpecs:
  - groupName: workers
    replicas: {{ int .Values.ray.workers.replicas }}
    minReplicas: {{ int .Values.ray.workers.minReplicas }}
    maxReplicas: {{ int .Values.ray.workers.maxReplicas }}
    rayStartParams: {}
    template:
      {{- include "fleet.rayPodTemplate" (dict "root" . "role" "worker") | nindent 6 }}
{{- end -}}
