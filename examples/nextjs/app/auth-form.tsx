"use client";

import Link from "next/link";
import { useState } from "react";
import { authClient } from "@/lib/auth-client";
import { forgetToken } from "@/lib/api";
import { useHydrated } from "@/lib/use-hydrated";

export function AuthForm({ mode }: { mode: "sign-in" | "sign-up" }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  const signUp = mode === "sign-up";

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email"));
    const password = String(form.get("password"));
    setBusy(true);
    setError("");
    forgetToken();
    const { error } = signUp
      ? await authClient.signUp.email({ name: String(form.get("name")), email, password })
      : await authClient.signIn.email({ email, password });
    setBusy(false);
    if (error) {
      setError(error.message || error.statusText || "That did not work. Please try again.");
      return;
    }
    window.location.assign("/");
  }

  return (
    <section className="card auth">
      <h1>{signUp ? "Create your account" : "Sign in"}</h1>
      <form onSubmit={submit} method="post">
        {signUp && (
          <label className="field">
            Name
            <input type="text" name="name" required autoComplete="name" />
          </label>
        )}
        <label className="field">
          Email
          <input type="email" name="email" required autoComplete="email" />
        </label>
        <label className="field">
          Password
          <input
            type="password"
            name="password"
            required
            minLength={8}
            autoComplete={signUp ? "new-password" : "current-password"}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !hydrated}>
          {signUp ? "Sign up" : "Sign in"}
        </button>
      </form>
      <p>
        {signUp ? (
          <>
            Have an account? <Link href="/sign-in">Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link href="/sign-up">Create an account</Link>
          </>
        )}
      </p>
    </section>
  );
}
