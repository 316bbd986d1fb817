// The values the tests exchange, and a JSON description of any session value that names
// its exact JS type, so that the Python side can compare both directions with one table
// (TYPED_DESCRIPTION in tests/astro/test_astro_e2e.py).

/** The typed values Astro stores for "set in Astro, read in Python". */
export function typedValues() {
	return {
		date: new Date(Date.UTC(2026, 10, 30, 6, 0, 0, 123)),
		map: new Map([
			['a', 1],
			[2, 'b'],
		]),
		set: new Set(['x', 3]),
		url: new URL('https://astro.example/path?q=1'),
		bigint: 12345678901234567890n,
		smallBigint: 5n,
		bytes: new Uint8Array([0, 1, 254, 255]),
		nested: { cart: [{ sku: 'a', qty: 2, note: undefined }], tags: new Set(['t']) },
		undef: undefined,
		nul: null,
		text: 'héllo <b>',
		float: 1.5,
		flag: true,
	};
}

export function describe(value) {
	if (value === undefined) return { t: 'undefined' };
	if (value === null) return { t: 'null' };
	switch (typeof value) {
		case 'bigint':
			return { t: 'bigint', v: value.toString() };
		case 'number':
		case 'string':
		case 'boolean':
			return { t: typeof value, v: value };
	}
	if (value instanceof Date) return { t: 'Date', v: value.toISOString() };
	if (value instanceof URL) return { t: 'URL', v: value.href };
	if (value instanceof Uint8Array) return { t: 'Uint8Array', v: [...value] };
	if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
		return { t: value.constructor.name, v: [...value].map(String) };
	}
	if (value instanceof Map) return { t: 'Map', v: [...value].map(([k, v]) => [describe(k), describe(v)]) };
	if (value instanceof Set) return { t: 'Set', v: [...value].map(describe) };
	if (Array.isArray(value)) return { t: 'Array', v: value.map(describe) };
	if (Object.getPrototypeOf(value) === Object.prototype) {
		return { t: 'object', v: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)])) };
	}
	return { t: `unexpected ${Object.prototype.toString.call(value)}` };
}

export function json(body, status = 200) {
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'content-type': 'application/json' },
	});
}

/** Every live key of the session, described. */
export async function describeSession(session) {
	const keys = {};
	for (const key of await session.keys()) {
		keys[key] = describe(await session.get(key));
	}
	return keys;
}
