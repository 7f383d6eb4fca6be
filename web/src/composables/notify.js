// Toasts and confirmations. ElMessage and ElMessageBox come from the
// auto-import resolver (with their CSS); the texts are the caller's,
// already translated, or the server's own messages.
import { i18n } from '../i18n/index.js'

const t = (key, values) => i18n.global.t(key, values)

// The server's message, or nothing for what needs no toast: a 401 (the app
// goes to the login page) and a request given up on purpose.
export function notifyError(error) {
  if (!error) return
  if (error.name === 'AbortError') return
  if (error.status === 401) return
  const message = error.message || String(error)
  ElMessage({ type: 'error', message, showClose: true, duration: 6000, grouping: true })
}

export function notifySuccess(message) {
  ElMessage({ type: 'success', message, grouping: true })
}

// ElMessageBox renders its buttons itself: give them stable test hooks
// (data-testid="confirm-ok" / "confirm-cancel") once they are in the page.
function tagButtons() {
  let tries = 0
  const tag = () => {
    const boxes = document.querySelectorAll('.el-message-box')
    const box = boxes[boxes.length - 1]
    const ok = box?.querySelector('.forest-confirm-ok')
    if (ok) {
      ok.setAttribute('data-testid', 'confirm-ok')
      box.querySelector('.forest-confirm-cancel')?.setAttribute('data-testid', 'confirm-cancel')
    } else if (tries++ < 50) {
      setTimeout(tag, 20)
    }
  }
  setTimeout(tag, 0)
}

// Resolves true when confirmed, false when cancelled or closed.
export async function confirmDanger(message, { title, confirmText, type = 'warning' } = {}) {
  const promise = ElMessageBox.confirm(message, title || t('common.confirmTitle'), {
    type,
    confirmButtonText: confirmText || t('common.confirm'),
    cancelButtonText: t('common.cancel'),
    confirmButtonClass: 'forest-confirm-ok',
    cancelButtonClass: 'forest-confirm-cancel',
    confirmButtonType: type === 'warning' || type === 'error' ? 'danger' : 'primary',
    autofocus: false,
  })
  tagButtons()
  try {
    await promise
    return true
  } catch {
    return false
  }
}

// A text prompt (a reason, a name); resolves the text or null.
export async function promptText(message, { title, placeholder = '', value = '', confirmText } = {}) {
  const promise = ElMessageBox.prompt(message, title || t('common.confirmTitle'), {
    confirmButtonText: confirmText || t('common.confirm'),
    cancelButtonText: t('common.cancel'),
    confirmButtonClass: 'forest-confirm-ok',
    cancelButtonClass: 'forest-confirm-cancel',
    inputPlaceholder: placeholder,
    inputValue: value,
  })
  tagButtons()
  try {
    const { value: text } = await promise
    return text ?? ''
  } catch {
    return null
  }
}

// The session ended while a form holds unsaved edits: one lasting warning
// (not one per failed background request) asking to log in again elsewhere.
let sessionWarning = null
export function warnSessionEnded() {
  if (sessionWarning) return
  sessionWarning = ElMessage({
    type: 'warning',
    message: t('session.endedUnsaved'),
    showClose: true,
    duration: 0,
    onClose: () => {
      sessionWarning = null
    },
  })
}

// The user logged in again (another tab): the warning is done with.
export function clearSessionWarning() {
  sessionWarning?.close()
  sessionWarning = null
}
