import { createApp } from 'vue'
import App from './App.vue'
import { api } from './api/index.js'
import { i18n } from './i18n/index.js'
import { router } from './router/index.js'
import './styles.css'

// The API client's own messages (no answer from the server) in the UI's language.
api.setTranslator((key, values) => i18n.global.t(key, values))

createApp(App).use(i18n).use(router).mount('#app')
