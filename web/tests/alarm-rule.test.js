// The alarm rule editor's form state <-> the rule document
// (src/model/alarm_rule.h): only set fields go out, unknown fields are kept.
import { describe, expect, it } from 'vitest'
import {
  RULE_BOOLS,
  RULE_EVENTS,
  SCOPE_EVENTS,
  describeRule,
  effectiveRule,
  eventsOn,
  formToRule,
  isRuleEmpty,
  isRuleFormEmpty,
  mergeRules,
  ruleFieldOfError,
  ruleToForm,
} from '../src/utils/alarm-rule.js'
import en from '../src/i18n/en.js'
import zhCN from '../src/i18n/zh-CN.js'

// Every field alarm_rule.h knows, and two it does not.
const FULL = {
  enabled: true,
  onFailure: true,
  onTimeout: false,
  onUnknown: true,
  onNoWorker: false,
  onMisfire: true,
  onRecovered: true,
  onGroupEmpty: false,
  onLeaderChange: true,
  runningLongerThanSeconds: 3600,
  groupWindowSeconds: 0,
  channels: ['ch-ops', 'ch-mail'],
  escalation: { after: 3, channels: ['ch-boss'] },
  futureFlag: 'x',
}

describe('alarm rule form', () => {
  it('round-trips every field, unknown ones included', () => {
    expect(formToRule(ruleToForm(FULL))).toEqual(FULL)
  })

  it('reads each switch as inherit, on or off', () => {
    const form = ruleToForm({ onFailure: true, onTimeout: false })
    expect(form.onFailure).toBe('on')
    expect(form.onTimeout).toBe('off')
    for (const key of RULE_BOOLS.filter((k) => !['onFailure', 'onTimeout'].includes(k))) expect(form[key]).toBe('inherit')
    expect(form.running).toBe('inherit')
    expect(form.window).toBe('inherit')
    expect(form.channelsMode).toBe('inherit')
  })

  it('sends only the fields that are set: an empty form is an empty rule', () => {
    for (const doc of [null, undefined, {}]) {
      const form = ruleToForm(doc)
      expect(formToRule(form)).toEqual({})
      expect(isRuleFormEmpty(form)).toBe(true)
    }
    expect(isRuleEmpty({})).toBe(true)
    expect(isRuleEmpty(null)).toBe(true)
    expect(isRuleEmpty({ onFailure: false })).toBe(false)
  })

  it('sets inherit back by leaving the field out, keeping unknown fields', () => {
    const form = ruleToForm(FULL)
    for (const key of RULE_BOOLS) form[key] = 'inherit'
    form.running = 'inherit'
    form.window = 'inherit'
    form.channelsMode = 'inherit'
    expect(formToRule(form)).toEqual({ escalation: FULL.escalation, futureFlag: 'x' })
    // Unknown fields are the document's, not the user's: the form sets nothing.
    expect(isRuleFormEmpty(form)).toBe(true)
  })

  it('tells "running long: off" (0) from inherit and from a limit', () => {
    expect(ruleToForm({ runningLongerThanSeconds: 0 }).running).toBe('off')
    expect(formToRule(ruleToForm({ runningLongerThanSeconds: 0 }))).toEqual({ runningLongerThanSeconds: 0 })
    const form = ruleToForm({})
    expect(form.runningSeconds).toBe(3600) // offered when switched on
    form.running = 'after'
    form.runningSeconds = 90.4
    expect(formToRule(form)).toEqual({ runningLongerThanSeconds: 90 })
    form.runningSeconds = null // cleared input: the default, not NaN
    expect(formToRule(form)).toEqual({ runningLongerThanSeconds: 3600 })
  })

  it('keeps a window of 0 (send every one) apart from inherit', () => {
    expect(ruleToForm({ groupWindowSeconds: 0 }).window).toBe('set')
    expect(formToRule(ruleToForm({ groupWindowSeconds: 0 }))).toEqual({ groupWindowSeconds: 0 })
    const form = ruleToForm({})
    form.window = 'set'
    form.windowSeconds = 600
    expect(formToRule(form)).toEqual({ groupWindowSeconds: 600 })
  })

  it('channels: inherit, none, or a list without blanks and repeats', () => {
    const form = ruleToForm({})
    form.channelsMode = 'set'
    expect(formToRule(form)).toEqual({ channels: [] })
    form.channels = ['a', ' b ', '', 'a']
    expect(formToRule(form)).toEqual({ channels: ['a', 'b'] })
    form.channelsMode = 'inherit'
    expect(formToRule(form)).toEqual({})
  })

  it('does not change the document it was made from', () => {
    const doc = structuredClone(FULL)
    const form = ruleToForm(doc)
    form.channels.push('more')
    form.onFailure = 'off'
    formToRule(form)
    expect(doc).toEqual(FULL)
  })

  it('keeps fields of another scope that the editor does not show', () => {
    const form = ruleToForm({ onLeaderChange: true, onGroupEmpty: true })
    form.onFailure = 'on' // edited in a job's editor, which shows neither
    expect(formToRule(form)).toEqual({ onLeaderChange: true, onGroupEmpty: true, onFailure: true })
    expect(SCOPE_EVENTS.job).not.toContain('onLeaderChange')
    expect(SCOPE_EVENTS.group).toContain('onGroupEmpty')
    expect(SCOPE_EVENTS.global).toEqual(RULE_EVENTS)
  })
})

describe('alarm rule inheritance', () => {
  it('merges job over group over global like AlarmRule::Merge', () => {
    const global = { onFailure: true, channels: ['g'], groupWindowSeconds: 300, onLeaderChange: true }
    const group = { onTimeout: true, channels: ['grp'] }
    const job = { onFailure: false, extra: 1 }
    const merged = mergeRules(job, mergeRules(group, global))
    expect(merged).toEqual({ onFailure: false, onTimeout: true, channels: ['grp'], groupWindowSeconds: 300, onLeaderChange: true })
    expect(mergeRules(null, null)).toEqual({})
    // A list replaces the inherited one, even empty.
    expect(mergeRules({ channels: [] }, global).channels).toEqual([])
  })

  it('comes to: unset events off, enabled on, onNoWorker as onFailure', () => {
    expect(effectiveRule({})).toMatchObject({ enabled: true, onFailure: false, onNoWorker: false, runningLongerThanSeconds: 0, groupWindowSeconds: null, channels: [] })
    expect(effectiveRule({ onFailure: true })).toMatchObject({ onFailure: true, onNoWorker: true })
    expect(effectiveRule({ onFailure: true, onNoWorker: false }).onNoWorker).toBe(false)
    expect(eventsOn(effectiveRule({ onFailure: true, onLeaderChange: true }), 'job')).toEqual(['onFailure', 'onNoWorker'])
    expect(eventsOn(effectiveRule({ enabled: false, onFailure: true }), 'job')).toEqual([])
  })

  it('says in one line what a rule comes to', () => {
    // A translator that shows the key and its values.
    const t = (key, v) => (key === 'cronText.listSep' ? ', ' : v ? `${key}(${Object.values(v).join(' / ')})` : key)
    const opts = { t, units: undefined, channelName: (id) => `#${id}` }
    expect(describeRule({ onFailure: true }, { channels: ['c1'] }, 'job', opts)).toBe(
      'alarmRule.summary(alarmRule.events.onFailure, alarmRule.events.onNoWorker / #c1)',
    )
    expect(describeRule({ runningLongerThanSeconds: 90 }, null, 'job', opts)).toBe(
      'alarmRule.summary(alarmRule.runningShort(1 min 30 s) / alarmRule.noChannels)',
    )
    expect(describeRule({}, null, 'global', opts)).toBe('alarmRule.summaryNothing')
    expect(describeRule({ enabled: false }, { onFailure: true }, 'group', opts)).toBe('alarmRule.summaryOff')
  })

  it('names the form field of a server error', () => {
    expect(ruleFieldOfError('alarm.channels', 'alarm')).toBe('channels')
    expect(ruleFieldOfError('alarm.runningLongerThanSeconds', 'alarm')).toBe('running')
    expect(ruleFieldOfError('alarm.onFailure', 'alarm')).toBe('onFailure')
    expect(ruleFieldOfError('alarm', 'alarm')).toBe('rule')
    expect(ruleFieldOfError('cron', 'alarm')).toBe('')
    expect(ruleFieldOfError('groupWindowSeconds')).toBe('window')
    expect(ruleFieldOfError('somethingNew')).toBe('rule')
  })

  it('has a label and a hint in both languages for every switch', () => {
    for (const messages of [en, zhCN]) {
      for (const key of RULE_EVENTS) {
        expect(messages.alarmRule.events[key], key).toBeTruthy()
        expect(messages.alarmRule.eventHints[key], key).toBeTruthy()
      }
      for (const v of ['inherit', 'on', 'off']) expect(messages.alarmRule[v], v).toBeTruthy()
    }
  })
})
