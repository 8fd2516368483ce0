{{/* Charts before skypilot-org/skypilot PR #10085/#10086: the chart always owns the claim (chartRepo.ts copies
this over templates/_storage.tpl). */}}

{{- define "skypilot.storageClaimName" -}}
{{- printf "%s-state" (include "skypilot.fullname" .) -}}
{{- end -}}

{{- define "skypilot.rendersClaim" -}}
{{- if .Values.storage.enabled }}true{{ end -}}
{{- end -}}

{{- define "skypilot.mountsClaim" -}}
{{- if .Values.storage.enabled }}true{{ end -}}
{{- end -}}
