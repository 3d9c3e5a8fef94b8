// Better Auth on the server: email + password, the jwt() plugin (JWKS at /api/auth/jwks,
// tokens at /api/auth/token), users and sessions in SQLite through better-sqlite3, and account
// deletion (`authClient.deleteUser()`) that first erases the user's data in the Todo API.
// BETTER_AUTH_URL and BETTER_AUTH_SECRET are read by Better Auth itself.
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { nextCookies } from "better-auth/next-js";
import { jwt } from "better-auth/plugins/jwt";
import { eraseApiData } from "./erase-account";

function createAuth() {
  // The jwt plugin's server-side signer, once `auth` exists (typed, so no circular inference).
  const signJWT = (input: {
    body: { payload: Record<string, unknown> };
  }): Promise<{ token: string }> => auth.api.signJWT(input);
  const auth = betterAuth({
    database: new Database(process.env.AUTH_DATABASE_PATH || "auth.sqlite"),
    emailAndPassword: { enabled: true, minPasswordLength: 8 },
    user: {
      deleteUser: {
        enabled: true,
        // Runs before the user is deleted; a throw aborts the deletion (lib/erase-account.ts).
        beforeDelete: (user): Promise<void> => eraseApiData(user.id, signJWT),
      },
    },
    plugins: [jwt(), nextCookies()],
  });
  return auth;
}

let instance: ReturnType<typeof createAuth> | undefined;

// Built on first use, not at import: `next build` imports this module without a database.
export function getAuth() {
  instance ??= createAuth();
  return instance;
}

// Better Auth's own migration: creates or completes its tables; run once at server start.
export async function migrateAuthDatabase(): Promise<void> {
  const { runMigrations } = await getMigrations(getAuth().options);
  await runMigrations();
}
