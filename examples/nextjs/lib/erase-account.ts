// Account deletion, server side: Better Auth's `user.deleteUser.beforeDelete` hook calls this
// before it deletes the user. It erases the user's data in the Todo API
// (`DELETE /api/{user_id}/account`) with a token for that user, signed here by the jwt plugin,
// and throws when that fails, which aborts the deletion: data never outlives its account, and an
// account never loses its data without being deleted. The erasure is idempotent, so deleting
// again after a failure is safe.
import { APIError } from "better-auth/api";
import type { components } from "./api-types";

const ERASE_TIMEOUT_MS = 10_000;

type SignJWT = (input: {
  body: { payload: Record<string, unknown> };
}) => Promise<{ token: string }>;

export async function eraseApiData(userId: string, signJWT: SignJWT): Promise<void> {
  const apiUrl = process.env.TODO_API_SERVER_URL || process.env.TODO_API_URL || "http://127.0.0.1:8000";
  // The jwt plugin's own keys, issuer, audience and lifetime: the token /api/auth/token would
  // give, for this user. iat is set explicitly (signJWT adds none): the API needs it.
  const { token } = await signJWT({
    body: { payload: { sub: userId, iat: Math.floor(Date.now() / 1000) } },
  });
  let response: Response;
  try {
    response = await fetch(`${apiUrl}/api/${encodeURIComponent(userId)}/account`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(ERASE_TIMEOUT_MS),
    });
  } catch (error) {
    console.error("account deletion: the Todo API cannot be reached", error);
    throw unavailable();
  }
  if (!response.ok) {
    console.error(`account deletion: the Todo API answered ${response.status}`);
    throw unavailable();
  }
  const erased: components["schemas"]["ErasedOut"] = await response.json();
  console.info(`account deletion: erased ${erased.tasks} task(s) of ${userId}`);
}

function unavailable(): APIError {
  return new APIError("SERVICE_UNAVAILABLE", {
    message: "Your tasks could not be erased, so your account was not deleted. Try again later.",
  });
}
