{{- define "access.labels" -}}
app.kubernetes.io/name: phased-rollout-access
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- define "access.subject" -}}
- kind: ServiceAccount
  name: {{ .Values.serviceAccount.name }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/* What the chart's own objects may do: everything `helm upgrade`, `helm rollback` and an uninstall do. */}}
{{- define "access.manage" -}}
[get, list, watch, create, update, patch, delete]
{{- end }}
