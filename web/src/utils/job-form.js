// The job form's state and the API's job document (src/model/job.h), both
// ways. The document a job was loaded from is kept in the form, so fields
// this UI does not know (the server keeps them: "unknown fields are kept")
// and those it does not edit (version, createdAt, ...) go back unchanged.
// The job's own alarm rule (`alarm`) is the rule editor's form state
// (utils/alarm-rule.js), which keeps the rule's unknown fields the same way.
import { formToRule, isRuleEmpty, isRuleFormEmpty, ruleToForm } from './alarm-rule.js'

export const ROUTINGS = ['random', 'round_robin', 'least_busy', 'consistent_hash', 'broadcast', 'shard']
export const CONCURRENCIES = ['allow', 'forbid', 'replace']
export const MISFIRES = ['fire_once', 'fire_all', 'skip']
export const DIALECTS = ['forest', 'quartz']

export const JOB_DEFAULTS = Object.freeze({
  status: 1,
  timezone: '',
  cronDialect: 'forest',
  routing: 'random',
  timeoutSeconds: 0,
  retry: Object.freeze({ maxAttempts: 1, backoffSeconds: 0, factor: 1 }),
  concurrency: 'allow',
  misfire: 'fire_once',
})

// The form's field for each field the server may name in an error.
export const FIELD_OF_ERROR = {
  name: 'name',
  group: 'group',
  cron: 'cron',
  target: 'target',
  params: 'params',
  status: 'status',
  timezone: 'timezone',
  cronDialect: 'cronDialect',
  routing: 'routing',
  timeoutSeconds: 'timeoutSeconds',
  'retry.maxAttempts': 'retryMaxAttempts',
  'retry.backoffSeconds': 'retryBackoffSeconds',
  'retry.factor': 'retryFactor',
  retry: 'retryMaxAttempts',
  concurrency: 'concurrency',
  misfire: 'misfire',
  startAt: 'startAt',
  endAt: 'endAt',
  tags: 'tags',
  owner: 'owner',
  description: 'description',
  remark: 'remark',
  mobile: 'mobile',
  alarm: 'alarm',
}

// The job's field of an error the server names ("alarm.channels": the
// alarm section's rule editor shows it).
export function fieldOfError(field) {
  if (!field) return ''
  if (FIELD_OF_ERROR[field]) return FIELD_OF_ERROR[field]
  if (String(field).startsWith('alarm.')) return 'alarm'
  return ''
}

const str = (v) => (v === undefined || v === null ? '' : String(v))
const num = (v, fallback) => (v === undefined || v === null || v === '' || Number.isNaN(Number(v)) ? fallback : Number(v))

// The form state of a job document (a new job when `doc` is empty).
export function jobToForm(doc = {}) {
  const source = doc && typeof doc === 'object' ? doc : {}
  const retry = source.retry && typeof source.retry === 'object' ? source.retry : {}
  return {
    original: structuredCloneSafe(source),
    id: str(source.id),
    name: str(source.name),
    group: str(source.group),
    cron: str(source.cron),
    target: str(source.target),
    params: str(source.params),
    status: num(source.status, JOB_DEFAULTS.status),
    timezone: str(source.timezone),
    cronDialect: str(source.cronDialect) || JOB_DEFAULTS.cronDialect,
    routing: str(source.routing) || JOB_DEFAULTS.routing,
    timeoutSeconds: num(source.timeoutSeconds, JOB_DEFAULTS.timeoutSeconds),
    retryMaxAttempts: num(retry.maxAttempts, JOB_DEFAULTS.retry.maxAttempts),
    retryBackoffSeconds: num(retry.backoffSeconds, JOB_DEFAULTS.retry.backoffSeconds),
    retryFactor: num(retry.factor, JOB_DEFAULTS.retry.factor),
    concurrency: str(source.concurrency) || JOB_DEFAULTS.concurrency,
    misfire: str(source.misfire) || JOB_DEFAULTS.misfire,
    startAt: str(source.startAt),
    endAt: str(source.endAt),
    tags: Array.isArray(source.tags) ? source.tags.map(String) : [],
    owner: str(source.owner),
    description: str(source.description),
    remark: str(source.remark),
    mobile: str(source.mobile),
    alarm: ruleToForm(source.alarm),
  }
}

// A time the picker gave (Date, or text with any offset) as the server
// writes it (RFC 3339 UTC with milliseconds); '' stays ''.
export function normalizeTime(value) {
  if (!value) return ''
  const d = value instanceof Date ? value : new Date(value)
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString()
}

// The job document to send: the original document with the form's fields
// laid over it. Optional times that are empty are left out.
export function formToJob(form) {
  const doc = structuredCloneSafe(form.original || {})
  const set = (key, value) => {
    doc[key] = value
  }
  if (str(form.id).trim()) set('id', str(form.id).trim())
  set('name', str(form.name).trim())
  set('group', str(form.group).trim())
  set('cron', str(form.cron).trim())
  set('target', str(form.target))
  set('params', str(form.params))
  set('status', Number(form.status) === 2 ? 2 : 1)
  set('timezone', str(form.timezone).trim())
  set('cronDialect', form.cronDialect)
  set('routing', form.routing)
  set('timeoutSeconds', num(form.timeoutSeconds, 0))
  const retry = doc.retry && typeof doc.retry === 'object' && !Array.isArray(doc.retry) ? doc.retry : {}
  doc.retry = {
    ...retry,
    maxAttempts: num(form.retryMaxAttempts, 1),
    backoffSeconds: num(form.retryBackoffSeconds, 0),
    factor: num(form.retryFactor, 1),
  }
  set('concurrency', form.concurrency)
  set('misfire', form.misfire)
  for (const key of ['startAt', 'endAt']) {
    const value = form[key]
    if (!value) delete doc[key]
    else doc[key] = value === (form.original || {})[key] ? value : normalizeTime(value)
  }
  set('tags', (form.tags || []).map((tag) => String(tag).trim()).filter(Boolean))
  set('owner', str(form.owner))
  set('description', str(form.description))
  set('remark', str(form.remark))
  set('mobile', str(form.mobile))
  // A rule that sets nothing is no rule: the job inherits its group's and
  // the global default (an `alarm: {}` it was stored with stays as it was).
  const alarm = formToRule(form.alarm || ruleToForm(doc.alarm))
  const storedEmpty = isRuleEmpty(doc.alarm) && Boolean(doc.alarm) && typeof doc.alarm === 'object' && !Array.isArray(doc.alarm)
  if (!isRuleEmpty(alarm)) doc.alarm = alarm
  else if (!storedEmpty) delete doc.alarm
  return doc
}

// Whether the advanced sections hold anything but the defaults (to open them).
export function advancedInUse(form) {
  return {
    schedule:
      Boolean(form.timezone || form.startAt || form.endAt) ||
      form.cronDialect !== JOB_DEFAULTS.cronDialect ||
      form.misfire !== JOB_DEFAULTS.misfire,
    execution:
      form.routing !== JOB_DEFAULTS.routing ||
      Number(form.timeoutSeconds) !== 0 ||
      Number(form.retryMaxAttempts) !== 1 ||
      form.concurrency !== JOB_DEFAULTS.concurrency,
    about: Boolean((form.tags || []).length || form.owner || form.description || form.remark || form.mobile),
    alarm: Boolean(form.alarm) && !isRuleFormEmpty(form.alarm),
  }
}

// The form's fields (what the user edits; `original` is the document).
const formFields = (form) => Object.keys(form || {}).filter((k) => k !== 'original')
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

// The fields of `form` that differ from `base` (the form as it was opened).
export function changedFields(form, base) {
  const keys = new Set([...formFields(form), ...formFields(base)])
  return [...keys].filter((k) => !same(form?.[k], base?.[k]))
}

export function isFormDirty(form, base) {
  return changedFields(form, base).length > 0
}

// After a 409 (someone saved the job since it was opened): the stored
// document `fresh` (its new version), with the fields the user changed
// since `base` laid over it. Fields the user left alone take the stored
// values; fields of `fresh` the form does not know go back unchanged.
export function rebaseForm(form, base, fresh) {
  const next = jobToForm(fresh)
  for (const key of changedFields(form, base)) {
    if (!(key in next)) continue
    const mine = structuredCloneSafe({ v: form[key] }).v ?? next[key]
    // The alarm rule's unknown fields are the stored ones (its `original`).
    next[key] = key === 'alarm' ? { ...mine, original: next.alarm.original } : mine
  }
  return next
}

function structuredCloneSafe(value) {
  return JSON.parse(JSON.stringify(value ?? {}))
}
