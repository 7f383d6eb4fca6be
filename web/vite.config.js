// Vite: the Forest web UI. Element Plus components, directives and services
// (ElMessage, ElMessageBox) are imported on demand by the resolvers, with
// their CSS; ECharts is imported piecemeal (src/components/echarts.js).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// `npm run dev` proxies the API to a running forest server.
const api = process.env.FOREST_API || 'http://127.0.0.1:2856'

export default defineConfig({
  base: '/',
  plugins: [
    vue(),
    AutoImport({ resolvers: [ElementPlusResolver()], dts: false }),
    Components({ resolvers: [ElementPlusResolver()], dts: false }),
  ],
  define: {
    // vue-i18n's feature flags: the Composition API only, no devtools.
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  build: {
    sourcemap: false,
    target: 'es2020',
    // Element Plus and ECharts chunks are cached long; the entry stays small.
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      output: {
        // Shared chunks of Element Plus start with a style module ("css");
        // call them what they are.
        chunkFileNames: (chunk) => `assets/${chunk.name === 'css' ? 'ui' : chunk.name}-[hash].js`,
      },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/healthz': { target: api },
    },
  },
  test: {
    environment: 'node',
    include: ['tests/**/*.test.js'],
  },
})
