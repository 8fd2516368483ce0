{{- define "skypilot.fullname" -}}
{{- .Values.fullnameOverride | default .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "skypilot.image" -}}
{{- .Values.apiService.image | default (printf "berkeleyskypilot/%s:%s" .Chart.Name .Chart.AppVersion) -}}
{{- end -}}

{{- define "skypilot.labels" -}}
app.kubernetes.io/name: skypilot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "skypilot.serviceAccountName" -}}
{{- .Values.rbac.serviceAccountName | default (printf "%s-api-sa" (include "skypilot.fullname" .)) -}}
{{- end -}}

{{- define "skypilot.ingressBasicAuthEnabled" -}}
{{- if and .Values.ingress.enabled (or .Values.ingress.authSecret .Values.ingress.authCredentials) }}true{{ else }}false{{ end -}}
{{- end -}}

{{/* Service-account tokens replace the ingress's basic auth, so they are off whenever basic auth is on. */}}
{{- define "skypilot.serviceAccountAuthEnabled" -}}
{{- if eq (include "skypilot.ingressBasicAuthEnabled" .) "true" -}}
false
{{- else if ne .Values.auth.serviceAccount.enabled nil -}}
{{- .Values.auth.serviceAccount.enabled -}}
{{- else -}}
{{- .Values.apiService.enableServiceAccounts -}}
{{- end -}}
{{- end -}}

{{/* Rendered only while the namespace is missing, so a second release never collides on it. */}}
{{- define "skypilot.ensureNamespace" -}}
{{- if not (lookup "v1" "Namespace" "" .) }}
apiVersion: v1
kind: Namespace
metadata:
  name: {{ . }}
  annotations:
    # Workloads the server started there outlive an uninstall.
    helm.sh/resource-policy: keep
{{- end }}
{{- end -}}

{{/* CPU in cores: "4", "4000m" or a number; a value atoi cannot read (e.g. "4.5") counts as 0, as in the chart. */}}
{{- define "skypilot.cpuCores" -}}
{{- $cpu := . | default "0" -}}
{{- if not (kindIs "string" $cpu) -}}
{{- float64 $cpu -}}
{{- else if hasSuffix "m" $cpu -}}
{{- divf (atoi (trimSuffix "m" $cpu)) 1000 -}}
{{- else -}}
{{- float64 (atoi $cpu) -}}
{{- end -}}
{{- end -}}

{{/* Memory in GiB from Gi, Mi, G or M (G and M read as Gi and Mi); any other unit counts as 0. */}}
{{- define "skypilot.memoryGiB" -}}
{{- $memory := toString (. | default "0") -}}
{{- if hasSuffix "Gi" $memory -}}
{{- float64 (atoi (trimSuffix "Gi" $memory)) -}}
{{- else if hasSuffix "Mi" $memory -}}
{{- divf (atoi (trimSuffix "Mi" $memory)) 1024 -}}
{{- else if hasSuffix "G" $memory -}}
{{- float64 (atoi (trimSuffix "G" $memory)) -}}
{{- else if hasSuffix "M" $memory -}}
{{- divf (atoi (trimSuffix "M" $memory)) 1024 -}}
{{- else -}}
0
{{- end -}}
{{- end -}}

{{- define "skypilot.checkResources" -}}
{{- $requests := .Values.apiService.resources.requests | default dict -}}
{{- $cpu := include "skypilot.cpuCores" $requests.cpu | float64 -}}
{{- $memory := include "skypilot.memoryGiB" $requests.memory | float64 -}}
{{- if or (lt $cpu 4.0) (lt $memory 8.0) -}}
{{- fail "Error\nDeploying a SkyPilot API server requires at least 4 CPU cores and 8 GiB memory. You can either:\n1. Change `--set apiService.resources.requests.cpu` and `--set apiService.resources.requests.memory` to meet the requirements or unset them to use defaults\n2. add `--set apiService.skipResourceCheck=true` in command args to bypass this check (not recommended for production)\nto resolve this issue and then try again." -}}
{{- end -}}
{{- end -}}
