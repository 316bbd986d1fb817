// unstorage's own drivers, configured from the environment when the server starts:
//   SESSION_STORE=fs-lite  SESSION_DIR=<folder>                  (the Node adapter's default)
//   SESSION_STORE=redis    REDIS_URL=redis://...  [REDIS_BASE=<prefix>]
// A site with a fixed store writes the same in astro.config.mjs:
//   session: { driver: 'fs-lite', options: { base: '...' } }
//   session: { driver: 'redis', options: { url: '...', base: '...' } }
import fsLiteDriver from 'unstorage/drivers/fs-lite';
import redisDriver from 'unstorage/drivers/redis';

export default function sessionDriver() {
	const store = process.env.SESSION_STORE;
	if (store === 'fs-lite') {
		return fsLiteDriver({ base: process.env.SESSION_DIR });
	}
	if (store === 'redis') {
		return redisDriver({ url: process.env.REDIS_URL, base: process.env.REDIS_BASE || undefined });
	}
	throw new Error(`SESSION_STORE must be fs-lite or redis, not ${JSON.stringify(store)}`);
}
