import { json, typedValues } from '../../lib/values.mjs';

// POST /astro/set-typed[?ttl=seconds]: store every typed value.
export async function POST({ session, url }) {
	const ttl = url.searchParams.get('ttl');
	for (const [key, value] of Object.entries(typedValues())) {
		session.set(key, value, ttl ? { ttl: Number(ttl) } : undefined);
	}
	return json({ ok: true });
}
