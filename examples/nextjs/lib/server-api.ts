// The Todo API called from the server: Server Components, Server Actions, Route Handlers.
//
// The JWT is minted here by Better Auth itself: `auth.api.getToken({ headers })` is the jwt()
// plugin's `GET /api/auth/token` called in-process, with the session cookie of the request
// being handled. React's cache() keeps one token per Server Component render, however many API
// calls it makes (in a Server Action or a Route Handler cache() does not memoise: one token
// per API call there). A token is never kept across requests, so it can never be served to
// another user.
//
// Same generated types and the same openapi-fetch client as the browser (lib/api.ts); only
// the fetch differs. `import "server-only"` makes importing this from a Client Component a
// build error: neither the token nor TODO_API_SERVER_URL ever reaches the browser.
//
// Policy: the token was minted for this very request, so a 401 means the session or the
// keys are gone: the user is sent to sign in. A 503 (or a 429) is "try again", never a
// sign-out: a short Retry-After (up to SERVER_WAIT_MAX_S) is waited out once, a longer one
// is handed to the page, which says when to try again (see `busy()`).
import "server-only";
import { isAPIError } from "better-auth/api";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import createClient from "openapi-fetch";
import { cache } from "react";
import type { paths } from "./api-types";
import { retryAfterSeconds } from "./api-shared";
import { getAuth } from "./auth";

const SERVER_WAIT_MAX_S = 2; // a render or an action never hangs longer on a busy API
const API_TIMEOUT_MS = 10_000;

/** Where the server reaches the API: an internal address when there is one. */
export function serverApiUrl(): string {
  return process.env.TODO_API_SERVER_URL || process.env.TODO_API_URL || "http://127.0.0.1:8000";
}

/** The signed-in user of this request (one session lookup per render), or off to sign in. */
export const getUser = cache(async () => {
  const requestHeaders = await headers(); // first: never prerendered at build
  const session = await getAuth().api.getSession({ headers: requestHeaders });
  if (!session) redirect("/sign-in");
  const { id, name, email } = session.user;
  return { id, name, email };
});

/** This request's JWT, minted from its session cookie (once per Server Component render). */
export const getApiToken = cache(async (): Promise<string> => {
  const requestHeaders = await headers();
  try {
    const { token } = await getAuth().api.getToken({ headers: requestHeaders });
    return token;
  } catch (error) {
    // No session (signed out, expired, revoked): getToken's sessionMiddleware answers 401.
    if (isAPIError(error) && error.statusCode === 401) redirect("/sign-in");
    throw error;
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function serverFetch(request: Request): Promise<Response> {
  const body = ["GET", "HEAD"].includes(request.method) ? undefined : await request.arrayBuffer();
  const send = async (): Promise<Response> => {
    const headers = new Headers(request.headers);
    headers.set("Authorization", `Bearer ${await getApiToken()}`); // in a render: the same one
    return fetch(request.url, {
      method: request.method,
      headers,
      body,
      cache: "no-store", // per user: never in Next's data cache
      // Bounds the wait. With a URL and a signal in init, Next does not memoise the GET for
      // the rest of the render, so a retry really asks the API again (with a Request object
      // as input it handed the first answer back).
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  };
  let response = await send();
  if (response.status === 401) redirect("/sign-in");
  if (busy(response) && retryAfterSeconds(response) <= SERVER_WAIT_MAX_S) {
    await sleep(retryAfterSeconds(response) * 1000);
    response = await send();
    if (response.status === 401) redirect("/sign-in");
  }
  return response;
}

/** The typed client for this request (same `paths` as the browser's). */
export const getServerApi = cache(() =>
  createClient<paths>({ baseUrl: serverApiUrl(), fetch: serverFetch }),
);

/** A 503 or 429 not waited out: what to tell the user, and in how many seconds to retry. */
export function busy(response: Response): { retryAfter: number; message: string } | null {
  if (response.status !== 503 && response.status !== 429) return null;
  const retryAfter = retryAfterSeconds(response);
  return { retryAfter, message: `The service is busy. Try again in ${retryAfter} seconds.` };
}
