import { json } from '../../lib/values.mjs';

// POST /astro/destroy: remove the record and expire the cookie.
export async function POST({ session }) {
	session.destroy();
	return json({ ok: true });
}
