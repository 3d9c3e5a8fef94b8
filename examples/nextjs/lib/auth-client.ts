// Better Auth in the browser. Same origin as this app, so no baseURL is needed.
import { jwtClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient({ plugins: [jwtClient()] });

/** The signed-in user as Better Auth types it (its fields, plus any a plugin adds). */
export type User = typeof authClient.$Infer.Session.user;
