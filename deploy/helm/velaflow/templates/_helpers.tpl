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

{{/* The Temporal connection of the workers and the controller: flags,
environment, and the Secrets they read. */}}
{{- define "velaflow.temporalArgs" -}}
{{- $tls := .Values.temporal.tls -}}
- --address={{ .Values.temporal.address }}
- --temporal-namespace={{ .Values.temporal.namespace }}
- --task-queue={{ .Values.taskQueue }}
{{- if $tls.enabled }}
- --tls
{{- if $tls.secretName }}
- --tls-ca-path=/etc/velaflow/temporal-tls/ca.crt
- --tls-cert-path=/etc/velaflow/temporal-tls/tls.crt
- --tls-key-path=/etc/velaflow/temporal-tls/tls.key
{{- end }}
{{- if $tls.serverName }}
- --tls-server-name={{ $tls.serverName }}
{{- end }}
{{- end }}
{{- if .Values.codec.keysSecret }}
- --codec-keys=/etc/velaflow/codec
{{- end }}
{{- end -}}

{{- define "velaflow.temporalEnv" -}}
{{- if .Values.temporal.apiKey.secretName -}}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.temporal.apiKey.secretName }}
      key: {{ .Values.temporal.apiKey.key }}
{{- end -}}
{{- end -}}

{{- define "velaflow.temporalMounts" -}}
{{- $tls := .Values.temporal.tls -}}
{{- if and $tls.enabled $tls.secretName }}
- {name: temporal-tls, mountPath: /etc/velaflow/temporal-tls, readOnly: true}
{{- end }}
{{- if .Values.codec.keysSecret }}
- {name: codec-keys, mountPath: /etc/velaflow/codec, readOnly: true}
{{- end }}
{{- end -}}

{{- define "velaflow.temporalVolumes" -}}
{{- $tls := .Values.temporal.tls -}}
{{- if and $tls.enabled $tls.secretName }}
- name: temporal-tls
  secret: {secretName: {{ $tls.secretName }}}
{{- end }}
{{- if .Values.codec.keysSecret }}
- name: codec-keys
  secret: {secretName: {{ .Values.codec.keysSecret }}}
{{- end }}
{{- end -}}

{{- define "velaflow.controllerSelectorLabels" -}}
{{ include "velaflow.selectorLabels" . }}
app.kubernetes.io/component: controller
{{- end -}}
