{{- define "skypilot.image" -}}
{{- .Values.apiService.image | default (printf "berkeleyskypilot/%s:%s" .Chart.Name .Chart.AppVersion) -}}
{{- end -}}

{{- define "skypilot.authSecretName" -}}
{{- if .Values.ingress.authSecret -}}
{{- .Values.ingress.authSecret -}}
{{- else if .Values.ingress.authCredentials -}}
{{- printf "%s-basic-auth" .Release.Name -}}
{{- end -}}
{{- end -}}

{{- define "skypilot.labels" -}}
app.kubernetes.io/name: skypilot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
