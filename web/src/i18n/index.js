// vue-i18n with the two languages of the UI. The first choice follows the
// browser (navigator.language); a choice made in the header is kept in
// localStorage.
import { computed } from 'vue'
import { createI18n } from 'vue-i18n'
import en from './en.js'
import zhCN from './zh-CN.js'

export const LOCALES = [
  { code: 'en', label: 'English' },
  { code: 'zh-CN', label: '简体中文' },
]
const STORAGE_KEY = 'forest.locale'
export const messages = { en, 'zh-CN': zhCN }

export function pickLocale(stored, languages) {
  if (stored && messages[stored]) return stored
  for (const lang of languages || []) {
    const l = String(lang).toLowerCase()
    if (l.startsWith('zh')) return 'zh-CN'
    if (l.startsWith('en')) return 'en'
  }
  return 'en'
}

function initialLocale() {
  let stored = null
  try {
    stored = globalThis.localStorage?.getItem(STORAGE_KEY)
  } catch {
    stored = null
  }
  const nav = globalThis.navigator
  return pickLocale(stored, nav ? [nav.language, ...(nav.languages || [])] : [])
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages,
})

export const currentLocale = computed(() => i18n.global.locale.value)

export function setLocale(code) {
  if (!messages[code]) return
  i18n.global.locale.value = code
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, code)
  } catch {
    // private mode: the choice lasts for this page only
  }
  if (globalThis.document) document.documentElement.lang = code
}

if (globalThis.document) document.documentElement.lang = i18n.global.locale.value
