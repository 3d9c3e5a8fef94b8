// Better Auth in the browser. Same origin as this app, so no baseURL is needed.
import { jwtClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient({ plugins: [jwtClient()] });
