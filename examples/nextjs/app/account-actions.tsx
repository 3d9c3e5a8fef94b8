"use client";

import Link from "next/link";
import { forgetToken } from "@/lib/api";
import { authClient } from "@/lib/auth-client";

/** The page's way out: the server-rendered view, Sign out, Delete account. */
export function AccountActions({ onNotice }: { onNotice: (message: string) => void }) {
  async function signOut() {
    forgetToken();
    await authClient.signOut();
    window.location.assign("/sign-in");
  }

  // Better Auth deletes the account; its beforeDelete hook (lib/auth.ts) first erases the tasks
  // in the API, and a failure there keeps the account (the message says so).
  async function deleteAccount() {
    if (!window.confirm("Delete your account and all your tasks? This cannot be undone.")) return;
    const { error } = await authClient.deleteUser();
    if (error) return onNotice(error.message || "Your account could not be deleted. Try again.");
    forgetToken();
    window.location.assign("/sign-up");
  }

  return (
    <div className="actions" style={{ marginTop: 0 }}>
      <Link href="/server-tasks">Rendered on the server</Link>
      <button type="button" className="secondary" onClick={signOut}>
        Sign out
      </button>
      <button type="button" className="danger" onClick={deleteAccount}>
        Delete account
      </button>
    </div>
  );
}
