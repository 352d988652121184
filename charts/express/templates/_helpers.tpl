{{- define "express.labels" -}}
app.kubernetes.io/name: express
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.Version | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "express.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- define "express.podLabels" -}}
{{- if .Values.faults.podsNeverReady }}
phased-rollout.dev/fault: never-ready
{{- end }}
{{- end -}}
