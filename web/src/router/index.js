// Routes: every page is its own chunk, loaded when first visited. Pages
// live inside AppLayout (menu, header) except the login page.
import { watch } from 'vue'
import { createRouter, createWebHistory } from 'vue-router'
import { api } from '../api/index.js'
import { ensureSession, forgetSession, hasRole, isLoggedIn } from '../composables/session.js'
import { notifyError, warnSessionEnded } from '../composables/notify.js'
import { hasUnsavedWork } from '../composables/unsaved.js'
import { currentLocale, i18n } from '../i18n/index.js'
import AppLayout from '../components/AppLayout.vue'
import { documentTitle, isChunkLoadError, reloadForChunkError, safeRedirect } from './helpers.js'

export { safeRedirect }

export const routes = [
  {
    path: '/login',
    name: 'login',
    component: () => import('../views/LoginView.vue'),
    meta: { public: true, title: 'nav.login' },
  },
  {
    path: '/',
    component: AppLayout,
    children: [
      { path: '', redirect: { name: 'dashboard' } },
      { path: 'dashboard', name: 'dashboard', component: () => import('../views/DashboardView.vue'), meta: { title: 'nav.dashboard' } },
      { path: 'jobs', name: 'jobs', component: () => import('../views/JobsView.vue'), meta: { title: 'nav.jobs' } },
      { path: 'jobs/:id', name: 'job', component: () => import('../views/JobDetailView.vue'), meta: { title: 'nav.jobDetail', menu: 'jobs' } },
      { path: 'groups', name: 'groups', component: () => import('../views/GroupsView.vue'), meta: { title: 'nav.groups' } },
      { path: 'workers', name: 'workers', component: () => import('../views/WorkersView.vue'), meta: { title: 'nav.workers' } },
      { path: 'nodes', name: 'nodes', component: () => import('../views/NodesView.vue'), meta: { title: 'nav.nodes' } },
      { path: 'plans', name: 'plans', component: () => import('../views/PlansView.vue'), meta: { title: 'nav.plans' } },
      { path: 'snapshots', name: 'snapshots', component: () => import('../views/SnapshotsView.vue'), meta: { title: 'nav.snapshots' } },
      { path: 'executions', name: 'executions', component: () => import('../views/ExecutionsView.vue'), meta: { title: 'nav.executions' } },
      // Alarms (issue 9): channels, default rules, the history.
      { path: 'alarms', redirect: { name: 'alarm-history' } },
      { path: 'alarms/channels', name: 'alarm-channels', component: () => import('../views/AlarmChannelsView.vue'), meta: { title: 'nav.alarmChannels' } },
      { path: 'alarms/rules', name: 'alarm-rules', component: () => import('../views/AlarmRulesView.vue'), meta: { title: 'nav.alarmRules' } },
      { path: 'alarms/history', name: 'alarm-history', component: () => import('../views/AlarmHistoryView.vue'), meta: { title: 'nav.alarmHistory' } },
      { path: 'audit', name: 'audit', component: () => import('../views/AuditView.vue'), meta: { title: 'nav.audit', role: 'admin' } },
      { path: 'users', name: 'users', component: () => import('../views/UsersView.vue'), meta: { title: 'nav.users', role: 'admin' } },
      { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('../views/NotFoundView.vue'), meta: { title: 'nav.notFound' } },
    ],
  },
]

export const router = createRouter({
  history: createWebHistory('/'),
  routes,
})

router.beforeEach(async (to) => {
  await ensureSession()
  if (to.meta.public) {
    if (to.name === 'login' && isLoggedIn()) return safeRedirect(to.query.redirect)
    return true
  }
  if (!isLoggedIn()) {
    return { name: 'login', query: to.fullPath && to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  }
  if (to.meta.role && !hasRole(to.meta.role)) return { name: 'dashboard' }
  return true
})

// A page's chunk failed to load (the UI was upgraded under this tab): load
// the page again from the server, once; a second failure is shown.
const t = (key, values) => i18n.global.t(key, values)

router.onError((error, to) => {
  let storage = null
  try {
    storage = globalThis.sessionStorage
  } catch {
    storage = null
  }
  const reloaded = reloadForChunkError(error, to, {
    storage,
    assign: (path) => globalThis.location.assign(path),
  })
  if (reloaded) return
  notifyError(isChunkLoadError(error) ? new Error(t('errors.chunkFailed')) : error)
})

// The tab's title follows the page and the language.
function setTitle() {
  if (globalThis.document) document.title = documentTitle(router.currentRoute.value, t)
}
router.afterEach(setTitle)
watch(currentLocale, setTitle)

// A 401 from any request: the session has ended; log in again and come back.
// Not while a form holds unsaved edits: the user is asked to log in again in
// another tab, then save (the write then takes the new session's CSRF token).
api.setUnauthorizedHandler(() => {
  if (hasUnsavedWork()) {
    warnSessionEnded()
    return
  }
  forgetSession()
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    router.replace({ name: 'login', query: { redirect: current.fullPath } })
  }
})
