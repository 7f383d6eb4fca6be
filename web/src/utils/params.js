// A job's params: any text. A shell or command job gets it as FOREST_PARAMS
// (often not JSON at all); an http(s) target reads it as JSON (method,
// headers, body). Only the latter must parse.

export const isHttpTarget = (target) => /^\s*https?:\/\//i.test(String(target || ''))

// { error }: refuse (not JSON for a URL target); { warning }: looks like
// JSON but is not (shown, not blocking); both '' when fine.
export function checkRunParams(text, target) {
  const value = String(text ?? '').trim()
  const ok = { error: '', warning: '' }
  if (!value) return ok
  const parse = () => {
    try {
      JSON.parse(value)
      return ''
    } catch (e) {
      return e.message || 'invalid JSON'
    }
  }
  if (isHttpTarget(target)) {
    const problem = parse()
    return problem ? { error: problem, warning: '' } : ok
  }
  if (/^[[{]/.test(value)) {
    const problem = parse()
    return problem ? { error: '', warning: problem } : ok
  }
  return ok
}
