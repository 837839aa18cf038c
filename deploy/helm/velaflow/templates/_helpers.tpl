{{/* Names and labels shared by the templates. */}}
{{- define "velaflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "velaflow.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The workers' pods (the codec server's carry component codec-server). */}}
{{- define "velaflow.workerSelectorLabels" -}}
{{ include "velaflow.selectorLabels" . }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "velaflow.labels" -}}
{{ include "velaflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "velaflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "velaflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
