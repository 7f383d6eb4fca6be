// Who is logged in, shared by the whole app. The session itself is an
// HttpOnly cookie; this keeps the user, role and CSRF token that
// GET /api/v1/session (after a reload) or POST /api/v1/login answered.
import { reactive, readonly } from 'vue'
import { api } from '../api/index.js'
import { clearSessionWarning } from './notify.js'

const ROLE_RANK = { viewer: 1, operator: 2, admin: 3 }

const state = reactive({
  loaded: false, // the session has been asked for once
  user: '',
  role: '',
  auth: true, // false: the server runs with --auth=off (no login)
})

export const session = readonly(state)

// The client asked for the session again (a write's CSRF token was refused
// after a log in in another tab): that session, maybe another user's, is ours now.
api.setSessionHandler((info) => {
  apply(info)
  if (info) clearSessionWarning()
})

function apply(info) {
  state.user = info?.user || ''
  state.role = info?.role || ''
  state.auth = info?.auth !== false
  state.loaded = true
}

export function isLoggedIn() {
  return Boolean(state.role)
}

// At least `role` (viewer < operator < admin).
export function hasRole(role) {
  return (ROLE_RANK[state.role] || 0) >= (ROLE_RANK[role] || 99)
}

export const canWrite = () => hasRole('operator')
export const isAdmin = () => hasRole('admin')

export async function loadSession() {
  apply(await api.session())
  return session
}

export async function ensureSession() {
  if (!state.loaded) {
    try {
      await loadSession()
    } catch {
      state.loaded = true
    }
  }
  return session
}

export async function login(user, password) {
  apply(await api.login(user, password))
  return session
}

// Only a logout the server took ends the session here; a refusal (or no
// answer) rejects and the user stays logged in.
export async function logout() {
  await api.logout()
  apply(null)
}

// The server said 401 to a request: the session is gone.
export function forgetSession() {
  apply(null)
  api.setCsrfToken('')
}
