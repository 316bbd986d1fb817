import { json } from '../../lib/values.mjs';

// POST /astro/set-samples: a value Python has no type for (a Float32Array), which Python
// must keep as it is when it saves the session.
export async function POST({ session }) {
	session.set('samples', new Float32Array([1.5, -2]));
	return json({ ok: true });
}
