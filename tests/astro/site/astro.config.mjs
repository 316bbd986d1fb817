// The site a user runs next to a hostsessions app: server output on the Node adapter,
// sessions under the shared cookie name. The store is chosen when the server starts
// (src/session-driver.mjs), so one build serves both test configurations.
import { fileURLToPath } from 'node:url';
import node from '@astrojs/node';
import { defineConfig } from 'astro/config';

export default defineConfig({
	output: 'server',
	adapter: node({ mode: 'standalone' }),
	session: {
		driver: fileURLToPath(new URL('./src/session-driver.mjs', import.meta.url)),
		// Astro's default name, spelled out: the Python app uses the same. Not Secure, as
		// the tests serve plain http on 127.0.0.1 (hostsessions' rule there too); a site
		// behind https keeps Astro's default (Secure in production).
		cookie: { name: 'astro-session', secure: false },
	},
});
