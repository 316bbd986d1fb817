import { json } from '../../lib/values.mjs';

// POST /astro/regenerate: a new ID for the same data. Astro 5 saves a regenerated session
// only when something changed after regenerate(), so mark it (as a login handler would).
export async function POST({ session }) {
	await session.regenerate();
	session.set('regeneratedBy', 'astro');
	return json({ ok: true });
}
