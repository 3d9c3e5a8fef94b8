// Runs once when the Next.js server starts (not during `next build`).
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { migrateAuthDatabase } = await import("./lib/auth");
    await migrateAuthDatabase();
  }
}
