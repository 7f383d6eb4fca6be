// The alarm channel form: secrets are write-only, so an edit sends a
// secret only when the user replaces or clears it (src/alarm/channel.h).
import { describe, expect, it } from 'vitest'
import {
  CHANNEL_TYPES,
  SECURITIES,
  TYPE_FIELDS,
  channelFieldOfError,
  channelTarget,
  channelToForm,
  checkChannelForm,
  formToChannel,
} from '../src/utils/alarm-channel.js'
import { ALARM_KINDS, DELIVERY_STATES, alarmMessage, deliveryCounts } from '../src/utils/alarms.js'
import en from '../src/i18n/en.js'
import zhCN from '../src/i18n/zh-CN.js'

// As GET /api/v1/alarm-channels answers them (Channel::PublicJson).
const WEBHOOK = {
  id: 'ch-ops',
  name: 'ops hook',
  type: 'webhook',
  enabled: true,
  template: '',
  timeoutSeconds: 10,
  urlSet: true,
  urlHost: 'hooks.example.com',
  secretSet: true,
  headerNames: ['Authorization', 'X-Team'],
  bodyTemplate: '',
  smsGateway: false,
  version: 4,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
  createdBy: 'admin',
  updatedBy: 'admin',
  someNewField: 1,
}
const EMAIL = {
  id: 'ch-mail',
  name: 'mail',
  type: 'email',
  enabled: true,
  template: '',
  timeoutSeconds: 20,
  host: 'smtp.example.com',
  port: 587,
  security: 'starttls',
  username: 'forest',
  passwordSet: true,
  from: 'forest@example.com',
  to: ['ops@example.com'],
  caFile: '',
  insecureSkipVerify: false,
  version: 2,
}

const SECRETS = ['url', 'secret', 'password', 'headers']

describe('alarm channel form', () => {
  it('an edit that changes no secret sends none of them, and the version', () => {
    const form = channelToForm(WEBHOOK)
    form.name = 'ops hook 2'
    const body = formToChannel(form)
    for (const key of SECRETS) expect(body).not.toHaveProperty(key)
    expect(body).toMatchObject({ version: 4, type: 'webhook', name: 'ops hook 2', enabled: true, timeoutSeconds: 10 })
    // Answer-only fields do not go back.
    for (const key of ['urlSet', 'urlHost', 'secretSet', 'headerNames', 'createdAt', 'updatedBy', 'id']) expect(body).not.toHaveProperty(key)
  })

  it('shows which secrets are set and keeps them by default', () => {
    const form = channelToForm(WEBHOOK)
    expect(form.url).toMatchObject({ set: true, mode: 'keep', value: '', host: 'hooks.example.com' })
    expect(form.secret).toMatchObject({ set: true, mode: 'keep' })
    expect(form.headers).toEqual([
      { name: 'Authorization', value: '', stored: true },
      { name: 'X-Team', value: '', stored: true },
    ])
    expect(channelToForm(EMAIL).password).toMatchObject({ set: true, mode: 'keep' })
  })

  it('sends a secret the user replaces, and "" for one cleared', () => {
    const form = channelToForm(WEBHOOK)
    form.url = { ...form.url, mode: 'replace', value: ' https://hooks.example.com/new?token=abc ' }
    form.secret = { ...form.secret, mode: 'clear' }
    const body = formToChannel(form)
    expect(body.url).toBe('https://hooks.example.com/new?token=abc')
    expect(body.secret).toBe('')
    expect(body).not.toHaveProperty('headers')
  })

  it('a secret switched to replace but left empty is kept', () => {
    const form = channelToForm(EMAIL)
    form.password = { ...form.password, mode: 'replace', value: '' }
    expect(formToChannel(form)).not.toHaveProperty('password')
    form.password.value = 'n3w-pass'
    expect(formToChannel(form).password).toBe('n3w-pass')
    form.password = { ...form.password, mode: 'clear', value: '' }
    expect(formToChannel(form).password).toBe('')
  })

  it('headers: the whole set, stored ones as "" (kept) unless given a new value', () => {
    const form = channelToForm(WEBHOOK)
    form.headers.splice(1, 1) // X-Team removed
    form.headers.push({ name: 'X-New', value: 'v1', stored: false })
    expect(formToChannel(form).headers).toEqual({ Authorization: '', 'X-New': 'v1' })
    form.headers[0].value = 'Bearer fresh'
    expect(formToChannel(form).headers).toEqual({ Authorization: 'Bearer fresh', 'X-New': 'v1' })
    // Every header removed: an empty set.
    form.headers = []
    expect(formToChannel(form).headers).toEqual({})
  })

  it('a new channel sends what is typed, nothing for empty secrets', () => {
    const form = channelToForm(null)
    expect(form).toMatchObject({ type: 'webhook', enabled: true, timeoutSeconds: 10 })
    expect(form.url).toMatchObject({ set: false, mode: 'replace' })
    Object.assign(form, { name: 'hook', id: ' ch-1 ' })
    form.url.value = 'http://127.0.0.1:9/hook'
    form.headers.push({ name: 'X-Key', value: 'k', stored: false })
    const body = formToChannel(form)
    expect(body).toEqual({
      id: 'ch-1',
      type: 'webhook',
      name: 'hook',
      enabled: true,
      template: '',
      timeoutSeconds: 10,
      url: 'http://127.0.0.1:9/hook',
      headers: { 'X-Key': 'k' },
      bodyTemplate: '',
      smsGateway: false,
    })
    expect(body).not.toHaveProperty('version')
  })

  it('sends only the fields of the channel\'s type', () => {
    const form = channelToForm(null)
    Object.assign(form, { name: 'mail', type: 'email', host: 'smtp.example.com', from: 'a@example.com', to: ['b@example.com', ' '] })
    form.url.value = 'https://left.over' // typed before switching the type
    form.password.value = 'pw'
    const body = formToChannel(form)
    expect(body).not.toHaveProperty('url')
    expect(body).not.toHaveProperty('headers')
    expect(body).not.toHaveProperty('smsGateway')
    expect(body).toMatchObject({ host: 'smtp.example.com', port: 0, security: 'starttls', password: 'pw', to: ['b@example.com'] })
    for (const type of ['wecom', 'slack']) {
      const f = channelToForm({ ...WEBHOOK, type, secretSet: false, headerNames: undefined })
      f.secret.value = 'never sent'
      expect(formToChannel(f)).not.toHaveProperty('secret')
      expect(TYPE_FIELDS[type]).toEqual(['url'])
    }
  })

  it('finds what the server would refuse before sending', () => {
    const fresh = channelToForm(null)
    expect(checkChannelForm(fresh).map((p) => p.key)).toEqual(['nameRequired', 'urlRequired'])
    fresh.name = 'x'
    fresh.url.value = 'ftp://x'
    expect(checkChannelForm(fresh).map((p) => p.key)).toEqual(['urlScheme'])
    // A kept URL needs no value.
    const edit = channelToForm(WEBHOOK)
    expect(checkChannelForm(edit)).toEqual([])
    edit.url.mode = 'replace'
    expect(checkChannelForm(edit).map((p) => p.key)).toEqual(['urlRequired'])
    edit.url = { ...edit.url, mode: 'keep' }
    edit.headers.push({ name: 'Bad Name', value: 'v', stored: false }, { name: 'X-Empty', value: '', stored: false }, { name: 'x-team', value: 'v', stored: false })
    expect(checkChannelForm(edit).map((p) => p.key)).toEqual(['headerName', 'headerValue', 'headerTwice'])
    const mail = channelToForm({ type: 'email' })
    mail.name = 'm'
    expect(checkChannelForm(mail).map((p) => p.key)).toEqual(['hostRequired', 'fromRequired', 'toRequired'])
  })

  it('says where a channel sends without its secrets', () => {
    expect(channelTarget(WEBHOOK)).toBe('hooks.example.com')
    expect(channelTarget(EMAIL)).toBe('ops@example.com (smtp.example.com:587)')
  })

  it('maps server error fields', () => {
    expect(channelFieldOfError('url')).toBe('url')
    expect(channelFieldOfError('to')).toBe('to')
    expect(channelFieldOfError('headers')).toBe('headers')
    expect(channelFieldOfError('weird')).toBe('')
  })

  it('has the texts of every type, security, kind and state in both languages', () => {
    for (const messages of [en, zhCN]) {
      for (const type of CHANNEL_TYPES) {
        expect(messages.alarmChannels.types[type], type).toBeTruthy()
        expect(messages.alarmChannels.typeHints[type], type).toBeTruthy()
        if (TYPE_FIELDS[type].includes('url')) expect(messages.alarmChannels.urlPlaceholders[type], type).toBeTruthy()
      }
      for (const s of SECURITIES) expect(messages.alarmChannels.securities[s], s).toBeTruthy()
      for (const k of ALARM_KINDS) expect(messages.alarms.kinds[k], k).toBeTruthy()
      for (const s of DELIVERY_STATES) expect(messages.alarms.states[s], s).toBeTruthy()
    }
  })
})

describe('alarm history', () => {
  const ALARM = {
    id: 'a1',
    kind: 'failed',
    title: 'Job nightly failed on w1',
    jobId: 'j1',
    jobName: 'nightly',
    group: 'local',
    executionId: 'e1',
    worker: 'w1',
    count: 1,
    firstAt: '2026-01-01T00:00:00.000Z',
    lastAt: '2026-01-01T00:00:00.000Z',
    leaderNode: 'n1',
    facts: { status: 'error', result: 'exit 1', at: '2026-01-01T00:00:00.000Z', node: 'n1', link: 'http://ui/executions?id=e1' },
    deliveries: [
      { channelId: 'c1', state: 'sent' },
      { channelId: 'c2', state: 'failed' },
      { channelId: 'c3', state: 'sent' },
    ],
  }

  it('makes the default message from the facts', () => {
    expect(alarmMessage(ALARM)).toBe(
      [
        '[Forest] Job nightly failed on w1',
        'Job: nightly (j1)',
        'Group: local',
        'Execution: e1',
        'Worker: w1',
        'Status: error',
        'Result: exit 1',
        'At: 2026-01-01T00:00:00.000Z',
        'Leader: n1',
        'Link: http://ui/executions?id=e1',
      ].join('\n'),
    )
  })

  it('counts deliveries by state', () => {
    expect(deliveryCounts(ALARM)).toEqual({ sent: 2, failed: 1 })
  })
})
