import { describeSession, json } from '../../lib/values.mjs';

// POST /astro/update?key=K: a read-modify-write in Astro: read every key (so Astro writes
// back all it read), then store K = (K or 0) + 1.
export async function POST({ session, url }) {
	const key = url.searchParams.get('key');
	const before = await describeSession(session);
	session.set(key, ((await session.get(key)) ?? 0) + 1);
	return json({ before });
}
