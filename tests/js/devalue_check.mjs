// Runs a batch of devalue checks for tests/test_codec_devalue_js.py, in one Node process.
//
// usage: node devalue_check.mjs NODE_MODULES_DIR < request.json > response.json
//
// request:  {"packages": ["devalue", ...],
//            "python_outputs": [devalue strings written by Python],
//            "js_values": {"name": "a JS expression", ...}}
// response: {"<package>": {"version": "...",
//            "restringified": [{"ok": string} | {"error": message}, ...],
//            "js_outputs": {"name": {"ok": string} | {"error": message}, ...}}}
//
// Values are read and written the way Astro's session runtime does it
// (astro/dist/core/session/runtime.js): URL goes through a custom reducer and reviver.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modulesDir = process.argv[2];
const request = JSON.parse(readFileSync(0, 'utf8'));

const astroReducers = { URL: (value) => value instanceof URL && value.href };
const astroRevivers = { URL: (href) => new URL(href) };

function attempt(fn) {
	try {
		return { ok: fn() };
	} catch (error) {
		return { error: String(error && error.message ? error.message : error) };
	}
}

const response = {};
for (const name of request.packages) {
	const root = join(modulesDir, name);
	const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
	// Import the entry file itself: the package is not on Node's resolution path.
	const entry = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).exports['.'];
	const devalue = await import(pathToFileURL(join(root, entry.import ?? entry.default)).href);

	const restringified = request.python_outputs.map((text) =>
		attempt(() =>
			devalue.stringify(devalue.unflatten(JSON.parse(text), astroRevivers), astroReducers)
		)
	);

	const js_outputs = {};
	for (const [label, source] of Object.entries(request.js_values)) {
		js_outputs[label] = attempt(() =>
			devalue.stringify(new Function(`return (${source});`)(), astroReducers)
		);
	}
	response[name] = { version, restringified, js_outputs };
}
process.stdout.write(JSON.stringify(response));
