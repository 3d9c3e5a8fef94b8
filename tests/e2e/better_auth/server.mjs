// A real Better Auth server for the Todo API end-to-end tests.
//
// Test fixture only: in-memory database, CSRF/origin checks and rate limiting
// switched off so that a non-browser client (pytest + HTTP) can drive it.
// See README.md for the environment variables and the test-only routes.
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { APIError } from "better-auth/api";
import { fromNodeHeaders, toNodeHandler } from "better-auth/node";
import { bearer } from "better-auth/plugins/bearer";
import { createJwk, jwt } from "better-auth/plugins/jwt";
import { SignJWT } from "jose";

const HOST = "127.0.0.1";
const KEY_ALGS = {
	EdDSA: { alg: "EdDSA", crv: "Ed25519" },
	ES256: { alg: "ES256" },
	ES512: { alg: "ES512" },
	RS256: { alg: "RS256", modulusLength: 2048 },
	PS256: { alg: "PS256", modulusLength: 2048 },
};
const HMAC_ALGS = new Set(["HS256", "HS384", "HS512"]);

function fail(message) {
	process.stderr.write(`server.mjs: ${message}\n`);
	process.exit(2);
}

// ---------------------------------------------------------------- config --
const secret = process.env.BETTER_AUTH_SECRET ?? "";
if (secret.length < 32) fail("BETTER_AUTH_SECRET is required and must be at least 32 characters");
// Better Auth would prefer BETTER_AUTH_SECRETS (its rotation list) over the
// single secret. Keep this fixture deterministic: only BETTER_AUTH_SECRET counts.
delete process.env.BETTER_AUTH_SECRETS;

const portText = process.env.PORT ?? "0";
if (!/^\d+$/.test(portText) || Number(portText) > 65535) fail(`invalid PORT ${JSON.stringify(portText)}`);

const keyAlg = process.env.BA_KEY_ALG || "EdDSA";
if (!KEY_ALGS[keyAlg]) fail(`BA_KEY_ALG must be one of ${Object.keys(KEY_ALGS).join(", ")}; got ${keyAlg}`);

// The base URL's path, as an operator would write it into BETTER_AUTH_URL ("/auth",
// "/api/auth/"); empty: no path, so Better Auth mounts its routes at its basePath, /api/auth.
const basePath = process.env.BA_BASE_PATH ?? "";
if (basePath && !basePath.startsWith("/")) fail(`BA_BASE_PATH must start with "/"; got ${basePath}`);

// Better Auth's session cookie cache (the better-auth.session_data cookie); unset: off.
const cookieCache = process.env.BA_COOKIE_CACHE || "";
if (cookieCache && !["compact", "jwt", "jwe"].includes(cookieCache)) fail(`BA_COOKIE_CACHE must be compact, jwt or jwe; got ${cookieCache}`);

// Account deletion (POST /delete-user): when set, the beforeDelete hook erases the user's data
// at `${BA_ERASE_URL}/api/{id}/account` first, with a token from the jwt plugin's signJWT, and
// throws (aborting the deletion) unless that answers 200. Unset: deleting users is off.
const eraseUrl = process.env.BA_ERASE_URL || "";

const customIssuer = process.env.BA_JWT_ISSUER || undefined;
const customAudience = process.env.BA_JWT_AUDIENCE || undefined;
const expirationTime = process.env.BA_JWT_EXPIRATION || "15m";

// -------------------------------------------------------------- database --
// Better Auth's own in-memory adapter: no native build, state dies with the process.
const db = { user: [], session: [], account: [], verification: [], jwks: [] };

// ------------------------------------------------------------ HTTP server --
let auth; // built once the real port is known (PORT=0 picks a free one)
let authHandler;
let jwtOptions;
let origin; // http://127.0.0.1:<port>: where the test routes are

function sendJson(res, status, body) {
	const data = JSON.stringify(body);
	res.writeHead(status, {
		"content-type": "application/json",
		"content-length": Buffer.byteLength(data),
	});
	res.end(data);
}

async function authContext() {
	return await auth.$context;
}

// POST /test/rotate-key[?revoke_old=1]
// Creates a new signing key with the plugin's own createJwk(). The JWT plugin
// signs with the most recently created key, so every later token carries the
// new kid. Old keys stay in the JWKS unless revoke_old=1 deletes them.
async function rotateKey(req, res, url) {
	const ctx = await authContext();
	const before = await ctx.adapter.findMany({ model: "jwks" });
	// keys are ordered by createdAt (ms): never share a millisecond with the previous key
	await new Promise((resolve) => setTimeout(resolve, 5));
	const created = await createJwk({ context: ctx }, jwtOptions);
	const revoke = ["1", "true", "yes"].includes(url.searchParams.get("revoke_old") ?? "");
	let revoked = [];
	if (revoke) {
		revoked = before.map((k) => k.id);
		for (const id of revoked) {
			await ctx.adapter.delete({ model: "jwks", where: [{ field: "id", value: id }] });
		}
	}
	const after = await ctx.adapter.findMany({ model: "jwks" });
	sendJson(res, 200, {
		kid: created.id,
		alg: created.alg,
		previous_kids: before.map((k) => k.id),
		revoked_kids: revoked,
		kids: after.map((k) => k.id),
	});
}

// POST|GET /test/hs256-token[?alg=HS384|HS512]
// What many Next.js apps do server-side: an HMAC JWT signed with BETTER_AUTH_SECRET
// for the user of the current session (cookie or bearer session token).
// iss/aud: the same values the JWT plugin uses (BA_JWT_ISSUER / BA_JWT_AUDIENCE, else
// Better Auth's options.baseURL, the origin), so one expected iss/aud fits both token kinds.
async function hmacToken(req, res, url) {
	const alg = url.searchParams.get("alg") || "HS256";
	if (!HMAC_ALGS.has(alg)) return sendJson(res, 400, { error: `alg must be one of ${[...HMAC_ALGS].join(", ")}` });
	const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
	if (!session?.user) return sendJson(res, 401, { error: "no session" });
	const { user } = session;
	const { options } = await authContext();
	const now = Math.floor(Date.now() / 1000);
	const token = await new SignJWT({ email: user.email, name: user.name })
		.setProtectedHeader({ alg, typ: "JWT" })
		.setSubject(user.id)
		.setIssuedAt(now)
		.setExpirationTime(now + 15 * 60)
		.setIssuer(customIssuer ?? options.baseURL)
		.setAudience(customAudience ?? options.baseURL)
		.sign(new TextEncoder().encode(secret));
	sendJson(res, 200, { token });
}

// GET /test/config: what this instance was started with.
async function showConfig(req, res) {
	const ctx = await authContext();
	const keys = await ctx.adapter.findMany({ model: "jwks" });
	sendJson(res, 200, {
		betterAuthURL: process.env.BETTER_AUTH_URL,
		authURL: ctx.baseURL,
		baseURL: ctx.options.baseURL,
		keyAlg,
		cookieCache,
		issuer: customIssuer ?? ctx.options.baseURL,
		audience: customAudience ?? ctx.options.baseURL,
		expirationTime,
		kids: keys.map((k) => k.id),
	});
}

async function eraseUserData(user) {
	const { token } = await auth.api.signJWT({
		body: { payload: { sub: user.id, iat: Math.floor(Date.now() / 1000) } },
	});
	const url = `${eraseUrl}/api/${encodeURIComponent(user.id)}/account`;
	const response = await fetch(url, {
		method: "DELETE",
		headers: { Authorization: `Bearer ${token}` },
		signal: AbortSignal.timeout(10_000),
	}).catch((err) => {
		process.stderr.write(`erasure of ${user.id} failed: ${err?.message ?? err}\n`);
		return null;
	});
	if (response?.status !== 200) {
		if (response) process.stderr.write(`erasure of ${user.id}: the API answered ${response.status}\n`);
		throw new APIError("SERVICE_UNAVAILABLE", { message: "The user's data could not be erased." });
	}
	process.stderr.write(`erased ${user.id}: ${await response.text()}\n`);
}

const testRoutes = {
	"/test/rotate-key": { methods: ["POST"], handler: rotateKey },
	"/test/hs256-token": { methods: ["GET", "POST"], handler: hmacToken },
	"/test/config": { methods: ["GET"], handler: showConfig },
};

const server = http.createServer((req, res) => {
	if (!authHandler) return sendJson(res, 503, { error: "starting" });
	const url = new URL(req.url ?? "/", origin);
	const route = testRoutes[url.pathname];
	if (route) {
		if (!route.methods.includes(req.method)) return sendJson(res, 405, { error: "method not allowed" });
		req.resume(); // test routes read no body
		route.handler(req, res, url).catch((err) => {
			process.stderr.write(`test route ${url.pathname} failed: ${err?.stack ?? err}\n`);
			if (!res.headersSent) sendJson(res, 500, { error: String(err?.message ?? err) });
		});
		return;
	}
	return authHandler(req, res);
});

server.listen(Number(portText), HOST, async () => {
	try {
		const { port } = server.address();
		origin = `http://${HOST}:${port}`;
		// Better Auth reads BETTER_AUTH_URL itself when no baseURL option is given, as in a
		// deployment; set here because the port is known only now (and any inherited value
		// must not count).
		process.env.BETTER_AUTH_URL = `${origin}${basePath}`;
		jwtOptions = {
			jwks: { keyPairConfig: KEY_ALGS[keyAlg] },
			jwt: {
				expirationTime,
				...(customIssuer ? { issuer: customIssuer } : {}),
				...(customAudience ? { audience: customAudience } : {}),
			},
		};
		auth = betterAuth({
			appName: "todo-api-e2e",
			secret,
			database: memoryAdapter(db),
			emailAndPassword: {
				enabled: true,
				requireEmailVerification: false,
				minPasswordLength: 8,
				maxPasswordLength: 128,
			},
			plugins: [jwt(jwtOptions), bearer()],
			...(eraseUrl ? { user: { deleteUser: { enabled: true, beforeDelete: eraseUserData } } } : {}),
			...(cookieCache ? { session: { cookieCache: { enabled: true, strategy: cookieCache } } } : {}),
			rateLimit: { enabled: false },
			trustedOrigins: [origin, "http://localhost:3000"],
			advanced: { disableCSRFCheck: true, disableOriginCheck: true },
			telemetry: { enabled: false },
			logger: {
				level: "warn",
				log: (level, message, ...args) => {
					process.stderr.write(`[better-auth ${level}] ${message}${args.length ? ` ${JSON.stringify(args)}` : ""}\n`);
				},
			},
		});
		const ctx = await auth.$context;
		// Create the first signing key now so that concurrent first requests
		// cannot race into creating two.
		await createJwk({ context: ctx }, jwtOptions);
		authHandler = toNodeHandler(auth);
		// BETTER_AUTH_URL, then where Better Auth says its routes are (its context's baseURL)
		process.stdout.write(`READY ${process.env.BETTER_AUTH_URL} ${ctx.baseURL}\n`);
	} catch (err) {
		fail(`startup failed: ${err?.stack ?? err}`);
	}
});

server.on("error", (err) => fail(`listen failed: ${err?.message ?? err}`));

function shutdown() {
	server.close(() => process.exit(0));
	server.closeAllConnections();
	setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
