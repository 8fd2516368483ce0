{{/* Since skypilot-org/skypilot PR #10085/#10086: storage.existingClaim names a claim made outside the chart. */}}

{{- define "skypilot.storageClaimName" -}}
{{- .Values.storage.existingClaim | default (printf "%s-state" (include "skypilot.fullname" .)) -}}
{{- end -}}

{{/* pvc.yaml renders the claim only when the chart owns it. */}}
{{- define "skypilot.rendersClaim" -}}
{{- if and .Values.storage.enabled (not .Values.storage.existingClaim) }}true{{ end -}}
{{- end -}}

{{/* An existing claim is mounted even with storage.enabled false. */}}
{{- define "skypilot.mountsClaim" -}}
{{- if or .Values.storage.enabled .Values.storage.existingClaim }}true{{ end -}}
{{- end -}}
