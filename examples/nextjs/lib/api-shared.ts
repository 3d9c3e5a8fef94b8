// What the browser client (lib/api.ts) and the server one (lib/server-api.ts) share: the
// types generated from ../../docs/openapi.json and a few helpers with no token in them.
import type { components, operations } from "./api-types";

export type Task = components["schemas"]["TaskOut"];
export type Priority = components["schemas"]["Priority"];
export type TaskInput = components["schemas"]["TaskIn"];
export type ValidationIssue = components["schemas"]["ValidationIssue"];
/** The body of every refusal: one sentence (`DetailOut`), or a 422's issues (`ValidationErrorOut`). */
export type ErrorBody =
  | components["schemas"]["DetailOut"]
  | components["schemas"]["ValidationErrorOut"];
type TaskQuery = NonNullable<operations["list_tasks"]["parameters"]["query"]>;
export type StatusFilter = NonNullable<TaskQuery["status"]>;
export type Ordering = NonNullable<TaskQuery["ordering"]>;

const RETRY_AFTER_DEFAULT_S = 5;
const RETRY_AFTER_MAX_S = 30;

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), bounded. */
export function retryAfterSeconds(response: Response): number {
  const value = response.headers.get("Retry-After") ?? "";
  let seconds = /^\d+$/.test(value) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0) seconds = RETRY_AFTER_DEFAULT_S;
  return Math.min(Math.max(Math.ceil(seconds), 1), RETRY_AFTER_MAX_S);
}

/** A fresh Idempotency-Key (works outside secure contexts too). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** 422 body -> {field: message}, keyed by the last element of each issue's `loc`. */
export function fieldErrors(issues: ValidationIssue[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const issue of issues) {
    const field = String(issue.loc[issue.loc.length - 1] ?? "form");
    result[field] ??= issue.msg.replace(/^Value error, /, "");
  }
  return result;
}
