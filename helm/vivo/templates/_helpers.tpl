{{/* _helpers.tpl: names, labels, image references and namespaces shared by the vivo chart's templates. */}}

{{- define "vivo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The controller's objects: "<release>-controller" unless overridden. */}}
{{- define "vivo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if hasSuffix "controller" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-controller" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vivo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vivo.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-controller" (include "vivo.name" .) | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "vivo.labels" -}}
helm.sh/chart: {{ include "vivo.chart" . | quote }}
{{ include "vivo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: vivo
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
{{- end -}}

{{- define "vivo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vivo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* vivo.image: "repository@digest", else "repository:tag" (tag defaults to appVersion). */}}
{{- define "vivo.image" -}}
{{- $img := index . 0 -}}
{{- $ctx := index . 1 -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default $ctx.Chart.AppVersion $img.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "vivo.leaseNamespace" -}}
{{- default .Release.Namespace .Values.controller.leaderElection.namespace -}}
{{- end -}}

{{- define "vivo.instanceName" -}}
{{- default .Release.Name .Values.defaultInstance.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vivo.instanceNamespace" -}}
{{- .Values.defaultInstance.namespace | default .Values.controller.watchNamespace | default .Release.Namespace -}}
{{- end -}}
