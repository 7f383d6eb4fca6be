// A page's filters kept in the URL query: the next query from the current
// one and some changes. Empty values are left out; a change of filter goes
// back to page 1 (unless the change is the page); values equal to a
// default are left out too, so the URL stays short.
export function mergeQuery(current, changes, { resetPage = true, defaults = {} } = {}) {
  const next = { ...(current || {}), ...changes }
  if (resetPage && !('page' in changes)) delete next.page
  for (const [k, v] of Object.entries(next)) {
    if (v === '' || v === null || v === undefined) delete next[k]
    else if (k in defaults && String(v) === String(defaults[k])) delete next[k]
  }
  return next
}

