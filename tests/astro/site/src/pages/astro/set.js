import { json } from '../../lib/values.mjs';

// POST /astro/set?key=K[&ttl=seconds] with a JSON body: store that value under K.
export async function POST({ session, url, request }) {
	const ttl = url.searchParams.get('ttl');
	session.set(url.searchParams.get('key'), await request.json(), ttl ? { ttl: Number(ttl) } : undefined);
	return json({ ok: true });
}
