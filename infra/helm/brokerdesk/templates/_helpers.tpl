{{/* Names, labels and pod pieces shared by every object of the chart. */}}

{{- define "brokerdesk.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "brokerdesk.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "brokerdesk.labels" -}}
{{ include "brokerdesk.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "brokerdesk.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "brokerdesk.envName" -}}
{{ include "brokerdesk.fullname" . }}-env
{{- end -}}

{{- define "brokerdesk.secretName" -}}
{{ .Values.secret.existingSecret | default (include "brokerdesk.envName" .) }}
{{- end -}}

{{/* The ConfigMap and Secret are hooks too, so they exist before the migration Job runs. */}}
{{- define "brokerdesk.envHookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation
{{- end -}}

{{/* Pods restart when the environment changes. */}}
{{- define "brokerdesk.envChecksum" -}}
{{ printf "%s|%s|%s" .Values.platformDomain (toYaml .Values.config) (toYaml .Values.secret) | sha256sum }}
{{- end -}}

{{- define "brokerdesk.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "brokerdesk.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
{{- end -}}

{{- define "brokerdesk.envFrom" -}}
- configMapRef:
    name: {{ include "brokerdesk.envName" . }}
- secretRef:
    name: {{ include "brokerdesk.secretName" . }}
{{- end -}}

{{/* /healthz is served on the platform host only, and the production settings redirect plain
HTTP: probes send the platform's Host header and the proxy's X-Forwarded-Proto. */}}
{{- define "brokerdesk.healthz" -}}
httpGet:
  path: /healthz
  port: http
  httpHeaders:
    - name: Host
      value: {{ .Values.platformDomain | quote }}
    - name: X-Forwarded-Proto
      value: https
{{- end -}}
