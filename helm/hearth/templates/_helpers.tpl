{{/*
Names. Every resource is hearth-<slug>[-<component>]: the county, not the release name, names
things, so two releases of one county in a namespace collide instead of sharing.
*/}}
{{- define "hearth.slug" -}}
{{- required "county.slug is required (e.g. dalarna)" .Values.county.slug -}}
{{- end -}}

{{- define "hearth.fullname" -}}
{{- printf "hearth-%s" (include "hearth.slug" .) -}}
{{- end -}}

{{/* The slug as it appears in PostgreSQL names: hyphens become underscores. */}}
{{- define "hearth.slugUnderscored" -}}
{{- include "hearth.slug" . | replace "-" "_" -}}
{{- end -}}

{{/* The six services: name, gRPC service (health checks use it), binary. */}}
{{- define "hearth.services" -}}
intake: hearth.intake.v1.IntakeService
assessment: hearth.assessment.v1.AssessmentService
matching: hearth.matching.v1.MatchingService
training: hearth.training.v1.TrainingService
followup: hearth.followup.v1.FollowupService
allocation: hearth.allocation.v1.AllocationService
{{- end -}}

{{- define "hearth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: hearth
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hearth
hearth/county: {{ include "hearth.slug" . }}
{{- end -}}

{{/* Labels every Hearth pod of the county carries: what NetworkPolicies let in. */}}
{{- define "hearth.countySelector" -}}
app.kubernetes.io/part-of: hearth
hearth/county: {{ include "hearth.slug" . }}
{{- end -}}

{{/* Selector of one component; call with (dict "root" $ "component" "intake"). */}}
{{- define "hearth.selectorLabels" -}}
app.kubernetes.io/name: hearth
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
hearth/county: {{ include "hearth.slug" .root }}
{{- end -}}

{{- define "hearth.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
Guards: a name handed to the chart must name the county. Call with
(dict "root" $ "what" "database.name" "value" $name).
*/}}
{{- define "hearth.mustNameCounty" -}}
{{- $slug := include "hearth.slug" .root -}}
{{- $underscored := include "hearth.slugUnderscored" .root -}}
{{- if not (or (contains $slug .value) (contains $underscored .value)) -}}
{{- fail (printf "%s is %q, which does not name county %q: each county has its own (copied from another county's values?)" .what .value $slug) -}}
{{- end -}}
{{- end -}}

{{/* Resolved names, each checked. */}}
{{- define "hearth.databaseName" -}}
{{- $name := .Values.database.name | default (printf "hearth_%s" (include "hearth.slugUnderscored" .)) -}}
{{- include "hearth.mustNameCounty" (dict "root" . "what" "database.name" "value" $name) -}}
{{- $name -}}
{{- end -}}

{{- define "hearth.databaseUser" -}}
{{- $name := .Values.database.user | default (printf "hearth_%s" (include "hearth.slugUnderscored" .)) -}}
{{- include "hearth.mustNameCounty" (dict "root" . "what" "database.user" "value" $name) -}}
{{- $name -}}
{{- end -}}

{{- define "hearth.databaseSecret" -}}
{{- $name := .Values.database.passwordSecret.name | default (printf "%s-database" (include "hearth.fullname" .)) -}}
{{- include "hearth.mustNameCounty" (dict "root" . "what" "database.passwordSecret.name" "value" $name) -}}
{{- $name -}}
{{- end -}}

{{- define "hearth.keysSecret" -}}
{{- $name := .Values.keys.secretName | default (printf "%s-keys" (include "hearth.fullname" .)) -}}
{{- include "hearth.mustNameCounty" (dict "root" . "what" "keys.secretName" "value" $name) -}}
{{- $name -}}
{{- end -}}

{{- define "hearth.natsSecret" -}}
{{- $name := .Values.nats.auth.secretName | default (printf "%s-nats" (include "hearth.fullname" .)) -}}
{{- include "hearth.mustNameCounty" (dict "root" . "what" "nats.auth.secretName" "value" $name) -}}
{{- $name -}}
{{- end -}}

{{- define "hearth.natsUser" -}}
{{- $name := .Values.nats.auth.user | default (include "hearth.slug" .) -}}
{{- include "hearth.mustNameCounty" (dict "root" . "what" "nats.auth.user" "value" $name) -}}
{{- $name -}}
{{- end -}}

{{- define "hearth.allocationTokenSecret" -}}
{{- $name := .Values.allocation.cronJob.tokenSecret.name | default (printf "%s-allocation-token" (include "hearth.fullname" .)) -}}
{{- include "hearth.mustNameCounty" (dict "root" . "what" "allocation.cronJob.tokenSecret.name" "value" $name) -}}
{{- $name -}}
{{- end -}}

{{- define "hearth.countyConfigMap" -}}
{{- if .Values.county.existingConfigMap -}}
{{- include "hearth.mustNameCounty" (dict "root" . "what" "county.existingConfigMap" "value" .Values.county.existingConfigMap) -}}
{{- .Values.county.existingConfigMap -}}
{{- else -}}
{{- printf "%s-county" (include "hearth.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The county file (libs/county/src/file.rs) from `county.members` and `county.feeLevels`. Strings
go through toJson, whose escapes are valid TOML basic strings. Every member's code must start
with the county's SCB code: a member list copied from another county fails here.
*/}}
{{- define "hearth.countyToml" -}}
{{- $scb := required "county.scbCode is required (e.g. 20)" .Values.county.scbCode -}}
{{- if not .Values.county.members -}}
{{- fail "county.members must list the member municipalities (or set county.existingConfigMap)" -}}
{{- end -}}
# The county file of {{ .Values.county.name }}, rendered by the Hearth chart from its values.
{{- range $index, $member := .Values.county.members }}
{{- if not (hasPrefix $scb $member.code) }}
{{- fail (printf "county.members[%d].code %q is not in county %s (its code must start with %s)" $index $member.code $scb $scb) }}
{{- end }}

[[members]]
code = {{ $member.code | toJson }}
name = {{ $member.name | toJson }}
{{- with $member.subRegion }}
sub_region = {{ . | toJson }}
{{- end }}
{{- with $member.memberFrom }}
member_from = {{ . | toJson }}
{{- end }}
{{- with $member.memberTo }}
member_to = {{ . | toJson }}
{{- end }}
{{- with $member.mainTown }}
main_town = { latitude = {{ .latitude | toJson }}, longitude = {{ .longitude | toJson }} }
{{- end }}
{{- range $member.districts }}

[[members.districts]]
code = {{ .code | toJson }}
name = {{ .name | toJson }}
{{- end }}
{{- end }}
{{- range .Values.county.feeLevels }}

[[fee_levels]]
code = {{ .code | toJson }}
name = {{ .name | toJson }}
monthly_fee_ore = {{ int64 .monthlyFeeOre }}
{{- end }}
{{- with .Values.county.assessment }}

[assessment]
{{- with .timeLimitDays }}
time_limit_days = {{ int64 . }}
{{- end }}
{{- with .retentionDays }}
retention_days = {{ int64 . }}
{{- end }}
{{- with .priority }}
priority = {{ . | toJson }}
{{- end }}
{{- end }}
{{ end -}}

{{/*
Settings as environment variables, the same for every Hearth container of the release (so the
migration hook needs no ConfigMap that does not exist yet). Call with (dict "root" $ "component" "intake").
*/}}
{{- define "hearth.env" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
- name: HEARTH__COUNTY__SLUG
  value: {{ include "hearth.slug" $root | quote }}
- name: HEARTH__COUNTY__SCB_CODE
  value: {{ required "county.scbCode is required (e.g. 20)" $values.county.scbCode | quote }}
- name: HEARTH__COUNTY__NAME
  value: {{ required "county.name is required (e.g. Dalarna)" $values.county.name | quote }}
- name: HEARTH__COUNTY__FILE
  value: /etc/hearth/county/county.toml
- name: HEARTH__LISTEN
  value: "0.0.0.0:50051"
- name: HEARTH__DATA_DIR
  value: /var/lib/hearth
- name: HEARTH_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "hearth.databaseSecret" $root }}
      key: {{ $values.database.passwordSecret.key }}
- name: HEARTH__DATABASE__URL
  value: {{ printf "postgres://%s:$(HEARTH_DATABASE_PASSWORD)@%s:%d/%s?%s" (include "hearth.databaseUser" $root) (required "database.host is required" $values.database.host) (int $values.database.port) (include "hearth.databaseName" $root) $values.database.parameters | trimSuffix "?" | quote }}
- name: HEARTH__DATABASE__MAX_CONNECTIONS
  value: {{ $values.database.maxConnections | int | quote }}
- name: HEARTH__DATABASE__MIGRATE_ON_START
  value: "false"
- name: HEARTH__BUS__NATS_URL
  value: {{ required "nats.url is required (nats://…)" $values.nats.url | quote }}
{{- if eq $values.nats.auth.mode "userPassword" }}
- name: HEARTH__BUS__USER
  value: {{ include "hearth.natsUser" $root | quote }}
- name: HEARTH__BUS__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "hearth.natsSecret" $root }}
      key: password
{{- else if eq $values.nats.auth.mode "token" }}
- name: HEARTH__BUS__TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "hearth.natsSecret" $root }}
      key: token
{{- else if eq $values.nats.auth.mode "credsFile" }}
- name: HEARTH__BUS__CREDENTIALS_FILE
  value: /etc/hearth/nats/nats.creds
{{- end }}
- name: HEARTH__AUTH__ISSUER
  value: {{ required "auth.issuer is required (the county identity provider's iss)" $values.auth.issuer | quote }}
- name: HEARTH__AUTH__AUDIENCE
  value: {{ $values.auth.audience | quote }}
{{- with $values.telemetry.otlpEndpoint }}
- name: HEARTH__TELEMETRY__OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: HEARTH__TELEMETRY__LOG_FORMAT
  value: {{ $values.telemetry.logFormat | quote }}
- name: HEARTH__TELEMETRY__LOG_FILTER
  value: {{ $values.telemetry.logFilter | quote }}
- name: HEARTH__TELEMETRY__SAMPLE_RATIO
  value: {{ $values.telemetry.sampleRatio | toString | quote }}
- name: HEARTH__TELEMETRY__DATABASE_SPANS
  value: {{ $values.telemetry.databaseSpans | toString | quote }}
{{- range $name, $value := $values.extraSettings }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Volumes every Hearth container of the release mounts (county file, NATS credentials, scratch). */}}
{{- define "hearth.commonVolumes" -}}
- name: county
  configMap:
    name: {{ .countyConfigMap }}
    items:
      - key: county.toml
        path: county.toml
{{- if eq .root.Values.nats.auth.mode "credsFile" }}
- name: nats-credentials
  secret:
    secretName: {{ include "hearth.natsSecret" .root }}
    items:
      - key: nats.creds
        path: nats.creds
{{- end }}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
- name: data
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "hearth.commonVolumeMounts" -}}
- name: county
  mountPath: /etc/hearth/county
  readOnly: true
{{- if eq .Values.nats.auth.mode "credsFile" }}
- name: nats-credentials
  mountPath: /etc/hearth/nats
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/hearth
{{- end -}}

{{- define "hearth.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "hearth.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
{{- end -}}

{{/* Pod-level scheduling shared by every workload. */}}
{{- define "hearth.scheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* Egress rules shared by the services and the jobs: DNS, and optionally the backends. */}}
{{- define "hearth.egressRule" -}}
- to:
    {{- toYaml .to | nindent 4 }}
  ports:
    {{- range .ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
{{- end -}}

{{- define "hearth.dnsEgress" -}}
- to:
    {{- toYaml .Values.networkPolicy.egress.dns.to | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end -}}

{{/*
Monitoring files (helm/hearth/monitoring/). The rule file as it is covers every county
(hearth_county!=""): the chart narrows it to the release's county, names the group after the
county and points runbook_url at monitoring.runbookUrl.
*/}}
{{- define "hearth.dashboard" -}}
{{- $dashboard := .Files.Get "monitoring/dashboard.json" -}}
{{- if not $dashboard }}{{ fail "monitoring/dashboard.json is missing from the chart" }}{{ end -}}
{{- $dashboard -}}
{{- end -}}

{{- define "hearth.alertRules" -}}
{{- $slug := include "hearth.slug" . -}}
{{- $rules := .Files.Get "monitoring/alerts.yaml" -}}
{{- if not (contains "  - name: hearth\n" $rules) }}{{ fail "monitoring/alerts.yaml is missing from the chart or has no group `hearth`" }}{{ end -}}
{{- $rules = replace "hearth_county!=\"\"" (printf "hearth_county=%q" $slug) $rules -}}
{{- $rules = replace "https://github.com/example/hearth/blob/main/docs/operations.md" .Values.monitoring.runbookUrl $rules -}}
{{- $rules = replace "  - name: hearth\n" (printf "  - name: hearth-%s\n" $slug) $rules -}}
{{- $rules -}}
{{- end -}}
