import { describeSession, json } from '../../lib/values.mjs';

// GET /astro/describe: every live key with its exact JS type.
export async function GET({ session }) {
	return json({ keys: await describeSession(session) });
}
