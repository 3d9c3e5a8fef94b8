// What the browser scenarios share (frontend.mjs, account_deletion.mjs, rewrite.mjs): their
// environment, Debian's chromium started the way this machine needs, pages, and the sign-up form.
import { chromium } from "playwright-core";

export const PASSWORD = "correct-horse-battery";
// Distinct e-mail addresses per run, so a reused Better Auth database never collides.
export const run = Math.random().toString(16).slice(2, 8);

export const step = (text) => process.stdout.write(`- ${text}\n`);

/** The named environment variables, each required. */
export function requireEnv(...names) {
  const values = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  for (const [name, value] of Object.entries(values)) {
    if (!value) throw new Error(`${name} is required`);
  }
  return values;
}

/** Debian's chromium, headless; without the background-networking flags it keeps calling out. */
export function launch(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export async function newPage(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (error) => process.stdout.write(`  page error: ${error.message}\n`));
  return page;
}

/** The list item of the task titled ``title`` (its checkbox carries the title as its name). */
export const item = (page, title) =>
  page
    .getByRole("listitem")
    .filter({ has: page.getByRole("checkbox", { name: title, exact: true }) });

/** Fill and send the sign-up form the page shows; returns the new user's e-mail address. */
export async function fillSignUp(page, name) {
  const email = `${name.toLowerCase()}-${run}@example.com`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Tasks" }).waitFor();
  return email;
}
