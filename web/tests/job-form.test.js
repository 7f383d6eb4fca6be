// The job form's state <-> the API's job document.
import { describe, expect, it } from 'vitest'
import {
  FIELD_OF_ERROR,
  advancedInUse,
  changedFields,
  fieldOfError,
  formToJob,
  isFormDirty,
  jobToForm,
  normalizeTime,
  rebaseForm,
} from '../src/utils/job-form.js'

// A job as GET /api/v1/jobs/{id} answers it (src/model/job.cc, Job::ToJson),
// with fields of a newer server this UI does not know.
const STORED = {
  id: '20261124093000123456',
  name: 'nightly report',
  group: 'trade',
  cron: '0 0 2 * * ?',
  status: 1,
  target: 'sh: /opt/jobs/report --day 1',
  params: '{"day":1}',
  mobile: '13800000000',
  remark: 'finance',
  version: 7,
  timezone: 'Asia/Shanghai',
  cronDialect: 'quartz',
  routing: 'least_busy',
  timeoutSeconds: 600,
  retry: { maxAttempts: 3, backoffSeconds: 30, factor: 2, jitter: 0.1 },
  concurrency: 'forbid',
  misfire: 'skip',
  startAt: '2026-01-01T00:00:00.000Z',
  endAt: '2027-01-01T00:00:00.000Z',
  description: 'the nightly report',
  owner: 'ops',
  tags: ['finance', 'nightly'],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-02-01T00:00:00.000Z',
  createdBy: 'admin',
  updatedBy: 'alice',
  alerting: { channel: 'pager', after: 2 },
  futureFlag: true,
  // The job's own alarm rule, with a field of a newer server.
  alarm: { onFailure: true, onTimeout: false, channels: ['ops'], escalateAfter: 3 },
}

describe('job form', () => {
  it('round-trips a stored job unchanged, unknown fields included', () => {
    expect(formToJob(jobToForm(STORED))).toEqual(STORED)
  })

  it('does not change the document it was made from', () => {
    const copy = structuredClone(STORED)
    const form = jobToForm(copy)
    form.name = 'changed'
    form.tags.push('x')
    formToJob(form)
    expect(copy).toEqual(STORED)
  })

  it('lays edits over the stored document', () => {
    const form = jobToForm(STORED)
    form.cron = ' 0 0 3 * * ? '
    form.status = 2
    form.retryMaxAttempts = 5
    form.tags = ['a', ' b ', '']
    const doc = formToJob(form)
    expect(doc.cron).toBe('0 0 3 * * ?')
    expect(doc.status).toBe(2)
    expect(doc.retry).toEqual({ maxAttempts: 5, backoffSeconds: 30, factor: 2, jitter: 0.1 })
    expect(doc.tags).toEqual(['a', 'b'])
    expect(doc.version).toBe(7)
    expect(doc.alerting).toEqual({ channel: 'pager', after: 2 })
  })

  it('fills a new job with the defaults and leaves out empty optional times', () => {
    const form = jobToForm({})
    expect(form).toMatchObject({ status: 1, cronDialect: 'forest', routing: 'random', retryMaxAttempts: 1, retryFactor: 1 })
    Object.assign(form, { name: 'n', group: 'local', cron: '*/2 * * * * ?', target: 'echo hello' })
    const doc = formToJob(form)
    expect(doc).toEqual({
      name: 'n',
      group: 'local',
      cron: '*/2 * * * * ?',
      target: 'echo hello',
      params: '',
      status: 1,
      timezone: '',
      cronDialect: 'forest',
      routing: 'random',
      timeoutSeconds: 0,
      retry: { maxAttempts: 1, backoffSeconds: 0, factor: 1 },
      concurrency: 'allow',
      misfire: 'fire_once',
      tags: [],
      owner: '',
      description: '',
      remark: '',
      mobile: '',
    })
    expect(doc).not.toHaveProperty('id')
    expect(doc).not.toHaveProperty('startAt')
  })

  it('removes a window time that was cleared and normalizes a picked one', () => {
    const form = jobToForm(STORED)
    form.startAt = ''
    form.endAt = '2027-06-01T08:00:00.000+08:00'
    const doc = formToJob(form)
    expect(doc).not.toHaveProperty('startAt')
    expect(doc.endAt).toBe('2027-06-01T00:00:00.000Z')
    expect(normalizeTime('')).toBe('')
  })

  it('reads an original forest job (its fields only)', () => {
    const original = { id: 'a1', name: 'legacy', group: 'g', cron: '0/30 * * * * ?', status: 2, target: 'http://x', params: '', mobile: '', remark: '', version: 3 }
    const form = jobToForm(original)
    expect(form.status).toBe(2)
    const doc = formToJob(form)
    expect(doc).toMatchObject(original)
  })

  it('maps the server error fields to form fields', () => {
    expect(FIELD_OF_ERROR['retry.maxAttempts']).toBe('retryMaxAttempts')
    expect(FIELD_OF_ERROR.cron).toBe('cron')
    expect(fieldOfError('retry.factor')).toBe('retryFactor')
    expect(fieldOfError('alarm.channels')).toBe('alarm')
    expect(fieldOfError('alarm')).toBe('alarm')
    expect(fieldOfError('nonsense')).toBe('')
  })

  it('edits the job\'s alarm rule, keeping the rule\'s unknown fields', () => {
    const form = jobToForm(STORED)
    expect(form.alarm.onFailure).toBe('on')
    expect(form.alarm.onTimeout).toBe('off')
    expect(form.alarm.onUnknown).toBe('inherit')
    form.alarm.onTimeout = 'inherit'
    form.alarm.onRecovered = 'on'
    form.alarm.running = 'after'
    form.alarm.runningSeconds = 600
    const doc = formToJob(form)
    expect(doc.alarm).toEqual({ onFailure: true, onRecovered: true, runningLongerThanSeconds: 600, channels: ['ops'], escalateAfter: 3 })
  })

  it('leaves out an alarm rule that sets nothing (the job inherits the defaults)', () => {
    const fresh = jobToForm({ name: 'n' })
    expect(formToJob(fresh)).not.toHaveProperty('alarm')
    const form = jobToForm({ ...STORED, alarm: { onFailure: true, channels: [] } })
    form.alarm.onFailure = 'inherit'
    form.alarm.channelsMode = 'inherit'
    expect(formToJob(form)).not.toHaveProperty('alarm')
    // A rule set to send nowhere is a rule: channels [] stays.
    const none = jobToForm({ name: 'n' })
    none.alarm.channelsMode = 'set'
    expect(formToJob(none).alarm).toEqual({ channels: [] })
    // Stored as {}, it goes back as it was.
    expect(formToJob(jobToForm({ name: 'n', alarm: {} })).alarm).toEqual({})
  })

  it('after a 409, keeps the user\'s alarm edits over the stored rule\'s unknown fields', () => {
    const base = jobToForm(STORED)
    const form = jobToForm(STORED)
    form.alarm.onMisfire = 'on'
    const fresh = { ...STORED, version: 8, alarm: { ...STORED.alarm, escalateAfter: 5, newer: true } }
    const rebased = rebaseForm(form, base, fresh)
    expect(formToJob(rebased).alarm).toEqual({ onFailure: true, onTimeout: false, onMisfire: true, channels: ['ops'], escalateAfter: 5, newer: true })
  })

  it('opens the advanced sections that hold non-defaults', () => {
    expect(advancedInUse(jobToForm({}))).toEqual({ schedule: false, execution: false, about: false, alarm: false })
    expect(advancedInUse(jobToForm(STORED))).toEqual({ schedule: true, execution: true, about: true, alarm: true })
  })

  it('knows which fields the user changed', () => {
    const base = jobToForm(STORED)
    const form = jobToForm(STORED)
    expect(isFormDirty(form, base)).toBe(false)
    form.cron = '0 0 3 * * ?'
    form.tags = [...form.tags, 'new']
    expect(changedFields(form, base).sort()).toEqual(['cron', 'tags'])
    expect(isFormDirty(form, base)).toBe(true)
  })

  it('after a 409, lays the user changes over the stored job and takes its version', () => {
    const base = jobToForm(STORED)
    const form = jobToForm(STORED)
    form.cron = '0 0 3 * * ?' // the user's edits
    form.tags = ['finance']
    // Meanwhile someone else changed the target and the remark: version 8.
    const fresh = { ...STORED, version: 8, target: 'sh: /opt/jobs/report-v2', remark: 'moved', newField: 1 }
    const rebased = rebaseForm(form, base, fresh)
    expect(rebased.cron).toBe('0 0 3 * * ?')
    expect(rebased.tags).toEqual(['finance'])
    expect(rebased.target).toBe('sh: /opt/jobs/report-v2')
    expect(rebased.remark).toBe('moved')
    const doc = formToJob(rebased)
    expect(doc.version).toBe(8)
    expect(doc.newField).toBe(1)
    expect(doc.cron).toBe('0 0 3 * * ?')
    // The rebased form does not share arrays with the one it came from.
    form.tags.push('later')
    expect(rebased.tags).toEqual(['finance'])
  })

  it('a change the user made wins over the other change of the same field', () => {
    const base = jobToForm(STORED)
    const form = { ...jobToForm(STORED), remark: 'mine' }
    const rebased = rebaseForm(form, base, { ...STORED, version: 9, remark: 'theirs' })
    expect(rebased.remark).toBe('mine')
    expect(formToJob(rebased).version).toBe(9)
  })
})
