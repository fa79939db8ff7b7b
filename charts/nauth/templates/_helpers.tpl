{{/* Chart name, shortened to a DNS label. */}}
{{- define "nauth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the objects: fullnameOverride, else the release name with the chart name. */}}
{{- define "nauth.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nauth.namespace" -}}
{{- default .Release.Namespace .Values.namespace.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nauth.serviceAccountName" -}}
{{- default (include "nauth.fullname" .) .Values.serviceAccount.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nauth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nauth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nauth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "nauth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.global.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* RoleBinding or ClusterRoleBinding subjects: the controller's ServiceAccount. */}}
{{- define "nauth.subjects" -}}
subjects:
  - kind: ServiceAccount
    name: {{ include "nauth.serviceAccountName" . }}
    namespace: {{ include "nauth.namespace" . }}
{{- end }}
