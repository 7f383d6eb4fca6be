// The plans page's slice of GET /api/v1/plans (soonest first, `limit` of
// `total`) and its search within what was loaded.

export const PLANS_LIMIT = 200 // what the page asks for first
export const PLANS_MAX = 100000 // the server's largest limit

// "Show more": the next limit (twice the current, at most the total and
// the server's maximum) and how many more rows it brings; null when all
// are loaded.
export function nextPlansLimit(limit, loaded, total) {
  if (!(total > loaded)) return null
  const next = Math.min(Math.max(limit * 2, PLANS_LIMIT), total, PLANS_MAX)
  if (next <= loaded) return null
  return { limit: next, count: next - loaded }
}

// The plans whose name, id or cron contains the text (any case).
export function filterPlans(plans, text) {
  const q = String(text || '').trim().toLowerCase()
  if (!q) return plans || []
  return (plans || []).filter((p) => `${p.name || ''} ${p.id || ''} ${p.cron || ''}`.toLowerCase().includes(q))
}
