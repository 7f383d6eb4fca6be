// A run's params (src/utils/params.js): JSON only for http(s) targets.
import { describe, expect, it } from 'vitest'
import { checkRunParams, isHttpTarget } from '../src/utils/params.js'

describe('run params', () => {
  it('knows URL targets', () => {
    expect(isHttpTarget('https://example.com/hook')).toBe(true)
    expect(isHttpTarget(' HTTP://example.com')).toBe(true)
    expect(isHttpTarget('sh: curl https://example.com')).toBe(false)
    expect(isHttpTarget('/opt/jobs/report')).toBe(false)
    expect(isHttpTarget(undefined)).toBe(false)
  })

  it('accepts any text for a command', () => {
    expect(checkRunParams('--day 1 --dry-run', 'sh: /opt/report')).toEqual({ error: '', warning: '' })
    expect(checkRunParams('day=1', '/opt/report')).toEqual({ error: '', warning: '' })
    expect(checkRunParams('{"day": 1}', '/opt/report')).toEqual({ error: '', warning: '' })
    expect(checkRunParams('', 'https://x')).toEqual({ error: '', warning: '' })
  })

  it('warns, without refusing, about broken JSON for a command', () => {
    const r = checkRunParams('{"day": 1', 'sh: /opt/report')
    expect(r.error).toBe('')
    expect(r.warning).not.toBe('')
    expect(checkRunParams('[1, 2', 'echo').warning).not.toBe('')
  })

  it('refuses what is not JSON for a URL target', () => {
    expect(checkRunParams('{"method": "POST"}', 'https://example.com/hook')).toEqual({ error: '', warning: '' })
    const r = checkRunParams('day=1', 'https://example.com/hook')
    expect(r.error).not.toBe('')
    expect(r.warning).toBe('')
  })
})
