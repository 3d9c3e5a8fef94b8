// "Delete account" in examples/nextjs, in Debian's chromium, against the real API.
// Started by tests/browser/test_account_deletion.py, which runs the servers and passes
// APP_URL, API_URL and CHROMIUM. Prints "ANN=<id>" and "BOB=<id>" for the Python side.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const { APP_URL, API_URL, CHROMIUM } = process.env;
for (const [name, value] of Object.entries({ APP_URL, API_URL, CHROMIUM })) {
  if (!value) throw new Error(`${name} is required`);
}
const PASSWORD = "correct-horse-battery";
const run = Math.random().toString(16).slice(2, 8);
const step = (text) => process.stdout.write(`- ${text}\n`);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});

async function newPage() {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (error) => process.stdout.write(`  page error: ${error.message}\n`));
  return page;
}

const item = (page, title) =>
  page
    .getByRole("listitem")
    .filter({ has: page.getByRole("checkbox", { name: title, exact: true }) });

async function signUp(page, name) {
  await page.goto(`${APP_URL}/sign-up`);
  const email = `${name.toLowerCase()}-${run}@example.com`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Tasks" }).waitFor();
  return email;
}

async function addTask(page, title) {
  const form = page.getByRole("form", { name: "New task" });
  await form.getByLabel("Title").fill(title);
  await form.getByRole("button", { name: "Add task" }).click();
  await item(page, title).waitFor();
}

/** A JWT for the page's session, as the app gets one (GET /api/auth/token), and its sub. */
async function tokenOf(page) {
  const { token } = await page.evaluate(() => fetch("/api/auth/token").then((r) => r.json()));
  const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
  return { token, sub: payload.sub };
}

function callApi(method, path, token, body) {
  return fetch(`${API_URL}/api${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

try {
  step("Ann and Bob sign up and add tasks");
  const ann = await newPage();
  const annEmail = await signUp(ann, "Ann");
  await addTask(ann, "Ann's diary");
  await addTask(ann, "Ann's plans");
  const bob = await newPage();
  await signUp(bob, "Bob");
  await addTask(bob, "Bob's chores");
  const annToken = await tokenOf(ann); // issued before the deletion, valid for 15 minutes
  const bobToken = await tokenOf(bob);
  process.stdout.write(`ANN=${annToken.sub}\nBOB=${bobToken.sub}\n`);
  const before = await (await callApi("GET", `/${annToken.sub}/tasks`, annToken.token)).json();
  assert.equal(before.count, 2);

  step("Ann cancels the confirmation: nothing happens");
  ann.once("dialog", (dialog) => dialog.dismiss());
  await ann.getByRole("button", { name: "Delete account" }).click();
  await item(ann, "Ann's diary").waitFor();
  assert.equal(new URL(ann.url()).pathname, "/");

  step("Ann deletes her account and lands on sign-up");
  ann.once("dialog", (dialog) => {
    assert.match(dialog.message(), /Delete your account and all your tasks/);
    return dialog.accept();
  });
  await ann.getByRole("button", { name: "Delete account" }).click();
  await ann.waitForURL(/\/sign-up$/);
  await ann.getByRole("heading", { name: "Create your account" }).waitFor();

  step("the API holds none of Ann's tasks, and her old token cannot create any");
  const after = await callApi("GET", `/${annToken.sub}/tasks`, annToken.token);
  assert.equal(after.status, 200); // the token is still valid (stateless): nothing is left
  assert.deepEqual(await after.json(), { items: [], count: 0 });
  const create = await callApi("POST", `/${annToken.sub}/tasks`, annToken.token, { title: "x" });
  assert.equal(create.status, 401);
  assert.match((await create.json()).detail, /account was deleted after this token was issued/);
  assert.match(create.headers.get("www-authenticate"), /error="invalid_token"/);

  step("Ann's account is gone: the app sends her to sign in, and her password no longer works");
  await ann.goto(APP_URL);
  await ann.waitForURL(/\/sign-in$/);
  await ann.getByLabel("Email").fill(annEmail);
  await ann.getByLabel("Password").fill(PASSWORD);
  await ann.getByRole("button", { name: "Sign in" }).click();
  await ann.getByRole("alert").waitFor();
  assert.equal(new URL(ann.url()).pathname, "/sign-in");

  step("Bob's tasks are untouched, and he can still add more");
  await bob.reload();
  await item(bob, "Bob's chores").waitFor();
  await addTask(bob, "Bob's errands");
  const bobs = await (await callApi("GET", `/${bobToken.sub}/tasks`, bobToken.token)).json();
  assert.deepEqual(bobs.items.map((task) => task.title).sort(), ["Bob's chores", "Bob's errands"]);

  step("all good");
} finally {
  await browser.close();
}
