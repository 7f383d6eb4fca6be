// Both languages have the same keys, and every key the code names exists.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import en from '../src/i18n/en.js'
import zhCN from '../src/i18n/zh-CN.js'
import { pickLocale } from '../src/i18n/index.js'

function keys(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k
    if (Array.isArray(v)) return [`${path}[${v.length}]`]
    return v && typeof v === 'object' ? keys(v, path) : [path]
  })
}

function lookup(obj, path) {
  return path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj)
}

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return name === 'i18n' ? [] : sources(p)
    return /\.(vue|js)$/.test(name) ? [p] : []
  })
}

describe('i18n', () => {
  it('has the same keys in English and Chinese', () => {
    expect(keys(zhCN).sort()).toEqual(keys(en).sort())
  })

  it('has no empty message', () => {
    for (const messages of [en, zhCN]) {
      for (const key of keys(messages)) {
        if (key.endsWith(']')) continue
        const value = lookup(messages, key)
        if (['cronText.composeTimeOnly'].includes(key)) continue
        expect(typeof value, key).toBe('string')
      }
    }
  })

  it('avoids the characters vue-i18n reads as syntax', () => {
    for (const messages of [en, zhCN]) {
      for (const key of keys(messages)) {
        const value = lookup(messages, key.replace(/\[\d+\]$/, ''))
        if (typeof value === 'string') expect(value, key).not.toMatch(/[@|]/)
      }
    }
  })

  it('has every key the code names', () => {
    const root = join(import.meta.dirname, '..', 'src')
    const missing = []
    for (const file of sources(root)) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z]+\.[a-zA-Z0-9_.]+)'/g)) {
        if (lookup(en, m[1]) === undefined) missing.push(`${file}: ${m[1]}`)
      }
      // Keys in ternaries: t(x ? 'a.b' : 'c.d'), and route titles.
      for (const m of text.matchAll(/(?:\?|:)\s*'([a-z][a-zA-Z]*\.[a-zA-Z0-9_.]+)'/g)) {
        const top = m[1].split('.')[0]
        if (top in en && lookup(en, m[1]) === undefined) missing.push(`${file}: ${m[1]}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('picks the first language from the browser, then the stored choice', () => {
    expect(pickLocale(null, ['zh-CN', 'en'])).toBe('zh-CN')
    expect(pickLocale(null, ['zh-TW'])).toBe('zh-CN')
    expect(pickLocale(null, ['en-US', 'zh-CN'])).toBe('en')
    expect(pickLocale(null, ['fr-FR'])).toBe('en')
    expect(pickLocale('en', ['zh-CN'])).toBe('en')
    expect(pickLocale('xx', ['zh-CN'])).toBe('zh-CN')
  })
})
