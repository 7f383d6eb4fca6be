// Work the user would lose by leaving the page (a job form with edits).
// A 401 from a background request does not send the user to the login page
// while there is some: they are asked to log in again in another tab and
// save after that (composables/session.js sessionEndedWithUnsavedWork).
import { getCurrentInstance, onBeforeUnmount } from 'vue'

const guards = new Set()

export function hasUnsavedWork() {
  for (const guard of guards) {
    try {
      if (guard()) return true
    } catch {
      // a guard of a component going away
    }
  }
  return false
}

// `predicate()`: true while there is unsaved work; dropped with the component.
export function useUnsavedWork(predicate) {
  guards.add(predicate)
  const remove = () => guards.delete(predicate)
  if (getCurrentInstance()) onBeforeUnmount(remove)
  return remove
}
