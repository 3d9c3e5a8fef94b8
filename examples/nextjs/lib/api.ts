// The typed API client, and the one place that attaches the token.
//
// Types come from ../../docs/openapi.json (`npm run gen:api` -> lib/api-types.ts); nothing
// here declares a request or response shape by hand.
//
// Token policy: the JWT from `authClient.token()` is reused until shortly before its `exp`.
// A 401 drops it and retries once with a fresh one; a second 401 sends the user to sign in.
// A 503 (or a 429 rate limit) is "try again": Retry-After is honoured (bounded), and it never
// signs anyone out.
import createClient from "openapi-fetch";
import type { paths } from "./api-types";
import { retryAfterSeconds } from "./api-shared";
import { authClient } from "./auth-client";

export * from "./api-shared";

const REFRESH_BEFORE_EXPIRY_MS = 60_000;
const RETRIES_WHEN_BUSY = 2; // after a 503 or a 429

/** The session is gone: the user is being sent to the sign-in page. */
export class SignedOut extends Error {}

let cached: { token: string; expiresAt: number } | null = null;

function expiryOf(token: string): number {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const { exp } = JSON.parse(atob(payload)) as { exp?: number };
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0; // unreadable: use it once, fetch a new one next time
  }
}

let inFlight: Promise<string> | null = null;

async function fetchToken(): Promise<string> {
  const { data, error } = await authClient.token();
  if (error || !data?.token) throw signOutLocally();
  cached = { token: data.token, expiresAt: expiryOf(data.token) };
  return data.token;
}

async function currentToken(): Promise<string> {
  if (cached && cached.expiresAt - Date.now() > REFRESH_BEFORE_EXPIRY_MS) return cached.token;
  cached = null;
  // Calls made at the same moment share one token request.
  inFlight ??= fetchToken().finally(() => {
    inFlight = null;
  });
  return inFlight;
}

export function forgetToken(): void {
  cached = null;
}

function signOutLocally(): SignedOut {
  forgetToken();
  if (typeof window !== "undefined") window.location.assign("/sign-in");
  return new SignedOut("Your session has ended. Please sign in again.");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function authorizedFetch(request: Request): Promise<Response> {
  const send = async (): Promise<Response> => {
    const attempt = request.clone();
    attempt.headers.set("Authorization", `Bearer ${await currentToken()}`);
    return fetch(attempt);
  };
  let response = await send();
  if (response.status === 401) {
    forgetToken(); // expired or revoked keys: one fresh token, one retry
    response = await send();
    if (response.status === 401) throw signOutLocally();
  }
  // Every write the UI makes is safe to repeat (Idempotency-Key, If-Match, explicit values).
  const busy = (status: number) => status === 503 || status === 429;
  for (let retry = 0; busy(response.status) && retry < RETRIES_WHEN_BUSY; retry++) {
    await sleep(retryAfterSeconds(response) * 1000);
    response = await send();
  }
  return response;
}

export function createApi(baseUrl: string) {
  return createClient<paths>({ baseUrl, fetch: authorizedFetch });
}

export type Api = ReturnType<typeof createApi>;
