// "Kill": ask for a reason, then POST /api/v1/executions/{id}/kill. One flow
// for the executions table and the execution drawer. Resolves true when the
// kill was requested, false when cancelled or refused (the error is shown).
// `busy` (a ref) is true while the request is under way.
import { api } from '../api/index.js'
import { i18n } from '../i18n/index.js'
import { notifyError, notifySuccess, promptText } from './notify.js'

const t = (key, values) => i18n.global.t(key, values)

export async function promptAndKill(id, { busy } = {}) {
  const reason = await promptText(t('executions.killPrompt', { id }), {
    title: t('executions.killTitle'),
    placeholder: t('executions.killReason'),
    confirmText: t('executions.kill'),
  })
  if (reason === null) return false
  if (busy) busy.value = true
  try {
    await api.killExecution(id, reason)
    notifySuccess(t('executions.killRequested'))
    return true
  } catch (e) {
    notifyError(e)
    return false
  } finally {
    if (busy) busy.value = false
  }
}
