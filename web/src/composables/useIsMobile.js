// True on a narrow screen (a phone): tables then let their action column
// scroll with the rest instead of pinning it.
import { onBeforeUnmount, ref } from 'vue'

export const MOBILE_QUERY = '(max-width: 767px)'

export function useIsMobile() {
  const query = globalThis.matchMedia ? globalThis.matchMedia(MOBILE_QUERY) : null
  const isMobile = ref(Boolean(query?.matches))
  const update = (e) => (isMobile.value = e.matches)
  query?.addEventListener('change', update)
  onBeforeUnmount(() => query?.removeEventListener('change', update))
  return isMobile
}
