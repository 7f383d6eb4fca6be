// An alarm rule (src/model/alarm_rule.h on the server) and the rule
// editor's form state, both ways. The same document is a job's `alarm`
// field, a group's default rule and the global default rule.
//
// Every field of a rule is optional: a field left out inherits from the
// less specific rule (job -> group -> global); unset everywhere, an event
// is off, `enabled` is on, `onNoWorker` follows `onFailure`, the grouping
// window is the server's --alarm-window (5 min) and there are no channels.
// So every field of the form has an "inherit" choice, and only the fields
// that are set go into the document. Fields this UI does not know (a newer
// server's) are kept from the document the form was made from.
import { formatDuration } from './format.js'

// The switches, in the order the editor shows them (alarm_rule.cc kBools).
export const RULE_EVENTS = [
  'onFailure',
  'onTimeout',
  'onUnknown',
  'onNoWorker',
  'onMisfire',
  'onRecovered',
  'onGroupEmpty',
  'onLeaderChange',
]
export const RULE_BOOLS = ['enabled', ...RULE_EVENTS]
export const RULE_NUMBERS = ['runningLongerThanSeconds', 'groupWindowSeconds']
export const RULE_FIELDS = [...RULE_BOOLS, ...RULE_NUMBERS, 'channels']

// Which switches a scope offers: onGroupEmpty is read from group and global
// rules, onLeaderChange from the global one (a field of another scope that
// a document holds is kept, just not shown).
export const SCOPE_EVENTS = {
  job: ['onFailure', 'onTimeout', 'onUnknown', 'onNoWorker', 'onMisfire', 'onRecovered'],
  group: ['onFailure', 'onTimeout', 'onUnknown', 'onNoWorker', 'onMisfire', 'onRecovered', 'onGroupEmpty'],
  global: RULE_EVENTS,
}

// The server's limits (alarm_rule.h).
export const MAX_RUNNING_SECONDS = 30 * 24 * 3600
export const MAX_WINDOW_SECONDS = 24 * 3600
export const MAX_CHANNELS = 32
export const DEFAULT_RUNNING_SECONDS = 3600
export const DEFAULT_WINDOW_SECONDS = 300

// A switch in the form: 'inherit' (left out), 'on' (true) or 'off' (false).
export const TRI = ['inherit', 'on', 'off']

const isSet = (v) => v !== undefined && v !== null
const clone = (v) => JSON.parse(JSON.stringify(v ?? {}))
const isObject = (v) => Boolean(v) && typeof v === 'object' && !Array.isArray(v)

function tri(value) {
  if (value === true) return 'on'
  if (value === false) return 'off'
  return 'inherit'
}

// The form state of a rule document (null or {}: everything inherited).
export function ruleToForm(doc) {
  const source = isObject(doc) ? doc : {}
  const form = { original: clone(source) }
  for (const key of RULE_BOOLS) form[key] = tri(source[key])

  const running = source.runningLongerThanSeconds
  form.running = !isSet(running) ? 'inherit' : Number(running) > 0 ? 'after' : 'off'
  form.runningSeconds = isSet(running) && Number(running) > 0 ? Number(running) : DEFAULT_RUNNING_SECONDS

  const window = source.groupWindowSeconds
  form.window = isSet(window) ? 'set' : 'inherit'
  form.windowSeconds = isSet(window) ? Number(window) : DEFAULT_WINDOW_SECONDS

  form.channelsMode = isSet(source.channels) ? 'set' : 'inherit'
  form.channels = Array.isArray(source.channels) ? source.channels.map(String) : []
  return form
}

// The rule document of a form: the original document (unknown fields
// included) with the known fields replaced by what the form sets.
export function formToRule(form) {
  const doc = clone(form?.original)
  for (const key of RULE_FIELDS) delete doc[key]
  if (!form) return doc
  for (const key of RULE_BOOLS) {
    if (form[key] === 'on') doc[key] = true
    else if (form[key] === 'off') doc[key] = false
  }
  if (form.running === 'off') doc.runningLongerThanSeconds = 0
  else if (form.running === 'after') doc.runningLongerThanSeconds = wholeNumber(form.runningSeconds, DEFAULT_RUNNING_SECONDS)
  if (form.window === 'set') doc.groupWindowSeconds = wholeNumber(form.windowSeconds, 0)
  if (form.channelsMode === 'set') {
    const seen = new Set()
    doc.channels = (form.channels || []).map((c) => String(c).trim()).filter((c) => c && !seen.has(c) && seen.add(c))
  }
  return doc
}

function wholeNumber(value, fallback) {
  const n = Number(value)
  return value === '' || value === null || value === undefined || !Number.isFinite(n) ? fallback : Math.round(n)
}

// No field set and no unknown field: the scope inherits everything (a job
// without an `alarm` of its own).
export function isRuleEmpty(doc) {
  return !isObject(doc) || Object.keys(doc).length === 0
}

// The form sets nothing itself (unknown fields of its document aside).
export function isRuleFormEmpty(form) {
  const doc = formToRule({ ...form, original: {} })
  return Object.keys(doc).length === 0
}

// `rule` with every field it leaves unset taken from `fallback` (the
// server's AlarmRule::Merge); either may be null.
export function mergeRules(rule, fallback) {
  const out = isObject(fallback) ? clone(fallback) : {}
  if (!isObject(rule)) return out
  for (const key of RULE_FIELDS) {
    if (isSet(rule[key])) out[key] = clone({ v: rule[key] }).v
  }
  return out
}

// What a (merged) rule does in the end: every event on or off, the limit,
// the window (null: the server's default) and the channels.
export function effectiveRule(rule) {
  const r = isObject(rule) ? rule : {}
  const out = { enabled: r.enabled !== false }
  for (const key of RULE_EVENTS) out[key] = r[key] === true
  if (!isSet(r.onNoWorker)) out.onNoWorker = out.onFailure
  out.runningLongerThanSeconds = Number(r.runningLongerThanSeconds) > 0 ? Number(r.runningLongerThanSeconds) : 0
  out.groupWindowSeconds = isSet(r.groupWindowSeconds) ? Number(r.groupWindowSeconds) : null
  out.channels = Array.isArray(r.channels) ? r.channels : []
  return out
}

// The form's field for each field the server may name in an error
// ("alarm.channels" for a job, "channels" for a default rule).
export function ruleFieldOfError(field, prefix = '') {
  if (!field) return ''
  let f = String(field)
  if (prefix) {
    if (f === prefix) return 'rule'
    if (!f.startsWith(`${prefix}.`)) return ''
    f = f.slice(prefix.length + 1)
  }
  f = f.replace(/\[\d+\]$/, '')
  if (f === 'runningLongerThanSeconds') return 'running'
  if (f === 'groupWindowSeconds') return 'window'
  if (RULE_FIELDS.includes(f)) return f
  return 'rule'
}

// The events a rule's effect (effectiveRule) alarms on, of those `scope` offers.
export function eventsOn(effective, scope = 'global') {
  if (!effective?.enabled) return []
  return (SCOPE_EVENTS[scope] || RULE_EVENTS).filter((key) => effective[key])
}

// What a rule (with what it inherits) alarms on and where, in one line of
// the UI's language: `t` is vue-i18n's, `units` its `units`, `channelName`
// an id's name.
export function describeRule(rule, inherited, scope, { t, units, channelName = (id) => id }) {
  const e = effectiveRule(mergeRules(rule, inherited))
  if (!e.enabled) return t('alarmRule.summaryOff')
  const sep = t('cronText.listSep')
  const on = eventsOn(e, scope).map((k) => t(`alarmRule.events.${k}`))
  if (e.runningLongerThanSeconds > 0) {
    on.push(t('alarmRule.runningShort', { time: formatDuration(e.runningLongerThanSeconds * 1000, units) }))
  }
  if (!on.length) return t('alarmRule.summaryNothing')
  const where = e.channels.length ? e.channels.map(channelName).join(sep) : t('alarmRule.noChannels')
  return t('alarmRule.summary', { events: on.join(sep), channels: where })
}
