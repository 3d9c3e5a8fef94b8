// Drives examples/nextjs in Debian's chromium, through the UI only, against the real API.
// Started by tests/browser/test_frontend.py, which runs the servers and passes:
//   APP_URL (the Next.js app, an origin the API allows), FOREIGN_APP_URL (the same app on an
//   origin the API does not allow), API_URL, SERVER_API_URL (the app's TODO_API_SERVER_URL: a
//   proxy in front of the API that records the Next.js server's calls and can replay a status,
//   tests/browser/replay_proxy.py), CHROMIUM (the executable), SCREENSHOT (a path).
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const { APP_URL, FOREIGN_APP_URL, API_URL, SERVER_API_URL, CHROMIUM, SCREENSHOT } = process.env;
for (const [name, value] of Object.entries({
  APP_URL,
  FOREIGN_APP_URL,
  API_URL,
  SERVER_API_URL,
  CHROMIUM,
  SCREENSHOT,
})) {
  if (!value) throw new Error(`${name} is required`);
}
const PASSWORD = "correct-horse-battery";
const run = Math.random().toString(16).slice(2, 8);

const step = (text) => process.stdout.write(`- ${text}\n`);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
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

async function newPage(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (error) => process.stdout.write(`  page error: ${error.message}\n`));
  return page;
}

const item = (page, title) =>
  page
    .getByRole("listitem")
    .filter({ has: page.getByRole("checkbox", { name: title, exact: true }) });
const newTaskForm = (page) => page.getByRole("form", { name: "New task" });

async function signUp(page, name) {
  await page.goto(APP_URL);
  await page.waitForURL(/\/sign-in$/); // signed out: the tasks page sends us to sign in
  await page.getByRole("link", { name: "Create an account" }).click();
  const email = `${name.toLowerCase()}-${run}@example.com`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Tasks" }).waitFor();
  return email;
}

async function addTask(page, { title, description = "", priority = "medium", due = "" }) {
  const form = newTaskForm(page);
  await form.getByLabel("Title").fill(title);
  await form.getByLabel("Description").fill(description);
  await form.getByLabel("Priority").selectOption(priority);
  await form.getByLabel("Due date").fill(due);
  await form.getByRole("button", { name: "Add task" }).click();
  await item(page, title).waitFor();
}

async function until(what, predicate) {
  for (const end = Date.now() + 20_000; Date.now() < end;) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting until ${what}`);
}

async function titles(page) {
  await page.getByRole("list", { name: "Tasks" }).waitFor();
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
  return page
    .getByRole("list", { name: "Tasks" })
    .getByRole("checkbox")
    .evaluateAll((boxes) => boxes.map((box) => box.closest("label").textContent.trim()));
}

try {
  // ---------------------------------------------------------------- first user --
  const ann = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await newPage(ann);
  step("Ann signs up");
  const annEmail = await signUp(page, "Ann");
  await page.getByText("No tasks here yet.").waitFor();

  step("adds tasks with description, priority and due date");
  await addTask(page, {
    title: "Buy milk",
    description: "Oat, 2 litres",
    priority: "high",
    due: "2026-12-24",
  });
  await addTask(page, { title: "Call mum", priority: "low" });
  await addTask(page, {
    title: "File taxes",
    description: "Before the deadline",
    due: "2027-01-31",
  });
  assert.match(await item(page, "Buy milk").textContent(), /high.*due 2026-12-24.*Oat, 2 litres/);

  step("a 422 is shown next to its field");
  await newTaskForm(page).getByLabel("Title").fill("   ");
  await newTaskForm(page).getByRole("button", { name: "Add task" }).click();
  const title = newTaskForm(page).getByLabel("Title", { exact: true });
  await until(
    "Title is marked invalid",
    async () => (await title.getAttribute("aria-invalid")) === "true",
  );
  const message = newTaskForm(page).locator(
    `[id="${await title.getAttribute("aria-describedby")}"]`,
  );
  assert.equal(await message.getAttribute("role"), "alert");
  assert.match(await message.textContent(), /\w/);

  step("a double-clicked Add task creates one task, both requests carrying one Idempotency-Key");
  const keys = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().endsWith("/tasks")) {
      keys.push(request.headers()["idempotency-key"]);
    }
  });
  await newTaskForm(page).getByLabel("Title").fill("Walk the dog");
  await newTaskForm(page).getByRole("button", { name: "Add task" }).dblclick();
  await item(page, "Walk the dog").waitFor();
  await page.waitForLoadState("networkidle");
  assert.ok(keys.length >= 1 && keys.every((key) => key && key === keys[0]), `keys: ${keys}`);
  step(`  (${keys.length} POST request(s) sent)`);
  await page.reload();
  assert.deepEqual(
    (await titles(page)).filter((title) => title === "Walk the dog"),
    ["Walk the dog"],
  );

  step("toggles a task, and it stays done after a reload");
  let tokenFetches = 0;
  page.on("request", (request) => {
    if (new URL(request.url()).pathname === "/api/auth/token") tokenFetches += 1;
  });
  const milk = item(page, "Buy milk").getByRole("checkbox");
  await milk.click(); // the box follows the API's answer, not the click
  await until("Buy milk is checked", () => milk.isChecked());
  await page.reload();
  assert.equal(await item(page, "Buy milk").getByRole("checkbox").isChecked(), true);
  assert.equal(await item(page, "Call mum").getByRole("checkbox").isChecked(), false);

  assert.equal(tokenFetches, 1, "one JWT per page load, reused for every API call");
  step("edits a task (If-Match from the task's ETag)");
  await item(page, "File taxes").getByRole("button", { name: "Edit" }).click();
  await item(page, "File taxes").getByLabel("Title").fill("File the taxes");
  await item(page, "File taxes").getByRole("button", { name: "Save" }).click();
  await item(page, "File the taxes").waitFor();
  assert.match(await item(page, "File the taxes").textContent(), /Before the deadline/);

  step("screenshot of the tasks page");
  await page.getByRole("heading", { name: "Tasks" }).click(); // no focus ring on a field
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  step("an edit from a stale tab gets the 412 path: told, and shown the latest version");
  const stale = await newPage(ann);
  await stale.goto(APP_URL);
  await item(stale, "Call mum").getByRole("button", { name: "Edit" }).click();
  await item(stale, "Call mum").getByLabel("Title").waitFor();
  await item(page, "Call mum").getByRole("button", { name: "Edit" }).click();
  await item(page, "Call mum").getByLabel("Title").fill("Call mum today");
  await item(page, "Call mum").getByRole("button", { name: "Save" }).click();
  await item(page, "Call mum today").waitFor();
  await item(stale, "Call mum").getByLabel("Title").fill("Call mum tonight");
  await item(stale, "Call mum").getByRole("button", { name: "Save" }).click();
  await stale.getByRole("status").filter({ hasText: "changed elsewhere" }).waitFor();
  await item(stale, "Call mum today").waitFor();
  assert.equal(await item(stale, "Call mum tonight").count(), 0);
  await stale.close();

  step("search narrows the list");
  await page.getByLabel("Search").fill("taxes");
  await page.waitForFunction(() => document.querySelectorAll(".task").length === 1);
  assert.deepEqual(await titles(page), ["File the taxes"]);
  await page.getByLabel("Search").fill("");
  await item(page, "Call mum today").waitFor();

  step("the status filter and the ordering");
  await page.getByLabel("Status").selectOption("completed");
  await page.waitForFunction(() => document.querySelectorAll(".task").length === 1);
  assert.deepEqual(await titles(page), ["Buy milk"]);
  await page.getByLabel("Status").selectOption("all");
  await page.getByLabel("Order by").selectOption("title");
  const alphabetical = ["Buy milk", "Call mum today", "File the taxes", "Walk the dog"];
  await until("the list is in title order", async () => {
    return JSON.stringify(await titles(page)) === JSON.stringify(alphabetical);
  });
  await page.getByLabel("Order by").selectOption("-created_at");

  step("deletes a task, clears completed ones");
  await item(page, "Walk the dog").getByRole("button", { name: "Delete" }).click();
  await item(page, "Walk the dog").waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Clear completed" }).click();
  await page.getByRole("status").filter({ hasText: "Cleared 1 completed task." }).waitFor();
  await item(page, "Buy milk").waitFor({ state: "detached" });

  step("reload: what is left persists");
  await page.reload();
  assert.deepEqual((await titles(page)).sort(), ["Call mum today", "File the taxes"]);

  step("signs out, signs in again: the tasks are still there");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/sign-in$/);
  await page.getByLabel("Email").fill(annEmail);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Tasks" }).waitFor();
  assert.deepEqual((await titles(page)).sort(), ["Call mum today", "File the taxes"]);

  // --------------------------------------------------------------- second user --
  step("Bob signs up and sees none of Ann's tasks");
  const bob = await browser.newContext();
  const bobPage = await newPage(bob);
  await signUp(bobPage, "Bob");
  await bobPage.getByText("No tasks here yet.").waitFor();
  assert.equal(await bobPage.getByRole("checkbox").count(), 0);

  // ------------------------------------------- 503 and 401, as the API sends them --
  // The API's real answers, replayed once in front of it: the client's policy is under test.
  const tasksUrl = `${API_URL}/api/*/tasks?*`;
  async function answer(page, { status, headers, times }) {
    const seen = [];
    await page.route(tasksUrl, async (route) => {
      seen.push(route.request().headers().authorization);
      if (seen.length > times) return route.continue();
      await route.fulfill({
        status,
        headers: {
          "Access-Control-Allow-Origin": APP_URL,
          "Access-Control-Expose-Headers": "retry-after, www-authenticate",
          ...headers,
        },
        json: { detail: "replayed" },
      });
    });
    return seen;
  }
  const challenge = { "WWW-Authenticate": 'Bearer realm="todo-api", error="invalid_token"' };

  step("a 503 with Retry-After is waited out and retried; the user stays signed in");
  let seen = await answer(bobPage, { status: 503, headers: { "Retry-After": "1" }, times: 1 });
  await bobPage.reload();
  await bobPage.getByText("No tasks here yet.").waitFor();
  assert.equal(seen.length, 2);
  assert.equal(new URL(bobPage.url()).pathname, "/");
  await bobPage.unroute(tasksUrl);

  step("a 401 drops the token and retries once with a fresh one");
  seen = await answer(bobPage, { status: 401, headers: challenge, times: 1 });
  await bobPage.reload();
  await bobPage.getByText("No tasks here yet.").waitFor();
  assert.equal(seen.length, 2);
  assert.ok(seen.every((header) => header?.startsWith("Bearer ")));
  await bobPage.unroute(tasksUrl);

  step("a second 401 sends the user to sign in");
  seen = await answer(bobPage, { status: 401, headers: challenge, times: Infinity });
  await bobPage.reload();
  await bobPage.waitForURL(/\/sign-in$/);
  assert.equal(seen.length, 2);
  await bobPage.unroute(tasksUrl);

  step("paging: 21 tasks show 20, and Load more brings the last one");
  await bobPage.goto(APP_URL);
  await bobPage.getByText("No tasks here yet.").waitFor();
  for (let n = 1; n <= 21; n++) {
    await newTaskForm(bobPage).getByLabel("Title", { exact: true }).fill(`Chore ${n}`);
    await newTaskForm(bobPage).getByRole("button", { name: "Add task" }).click();
    await item(bobPage, `Chore ${n}`).waitFor();
  }
  await bobPage.reload();
  await bobPage.getByText("Showing 20 of 21").waitFor();
  assert.equal(await item(bobPage, "Chore 1").count(), 0);
  await bobPage.getByRole("button", { name: "Load more" }).click();
  await bobPage.getByText("Showing 21 of 21").waitFor();
  await item(bobPage, "Chore 1").waitFor();
  assert.equal(await bobPage.getByRole("button", { name: "Load more" }).count(), 0);

  // ------------------------------------ server side: Server Component, Server Action --
  // The same app, rendered on the server: the Next.js server gets the JWT with
  // auth.api.getToken and calls the API itself (through SERVER_API_URL, a recording proxy).
  const replay = (answer) =>
    fetch(`${SERVER_API_URL}/__replay`, { method: "POST", body: JSON.stringify(answer) });
  const serverCalls = async () => (await fetch(`${SERVER_API_URL}/__seen`)).json();
  const serverHtml = async (context) => {
    const response = await context.request.get(`${APP_URL}/server-tasks`, { maxRedirects: 0 });
    assert.equal(response.status(), 200, `GET /server-tasks: ${response.status()}`);
    return response.text();
  };
  const rendered = (title) => `<span class="title">${title}</span>`;
  const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());

  step("/server-tasks: Ann's tasks are in the server's HTML, none of Bob's");
  await replay({ times: 0 });
  let html = await serverHtml(ann);
  assert.ok(html.includes(rendered("Call mum today")), "Ann's task in the HTML");
  assert.ok(html.includes(rendered("File the taxes")), "Ann's task in the HTML");
  assert.ok(html.includes('<p class="desc">Before the deadline</p>'), "with its description");
  assert.ok(!html.includes("Chore "), "none of Bob's tasks");
  let calls = await serverCalls();
  assert.equal(calls.length, 2, "two API calls in one render: the list and the count to do");
  assert.ok(calls.some((call) => call.path.includes("status=pending")));
  assert.equal(calls[1].authorization, calls[0].authorization, "one token for the render");
  const annId = calls[0].path.split("/")[2];
  assert.match(calls[0].path, /^\/api\/[^/]+\/tasks\?/);
  assert.match(calls[0].authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  assert.match(html.replaceAll("<!-- -->", ""), /Showing 2 of 2 · 2 to do/);
  const jwt = calls[0].authorization.slice("Bearer ".length);
  assert.equal(claims(jwt).sub, annId, "the token is Ann's, minted from her session cookie");
  assert.equal(JSON.parse(Buffer.from(jwt.split(".")[0], "base64url")).alg, "EdDSA");

  step("get-session also hands out a JWT (set-auth-jwt), and the API takes it");
  const fromSession = await page.evaluate(async (api) => {
    const session = await fetch("/api/auth/get-session");
    const token = session.headers.get("set-auth-jwt");
    const me = await fetch(`${api}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
    return { token, me: me.status, id: (await me.json()).id };
  }, API_URL);
  assert.equal(claims(fromSession.token).sub, annId);
  assert.deepEqual([fromSession.me, fromSession.id], [200, annId]);

  step("/server-tasks: Bob's HTML has his tasks and none of Ann's");
  html = await serverHtml(bob);
  assert.ok(html.includes(rendered("Chore 21")), "Bob's task in the HTML");
  assert.ok(!html.includes("Call mum today") && !html.includes("File the taxes"));

  step("with JavaScript off, the list is there as the server rendered it");
  const noScript = await browser.newContext({
    javaScriptEnabled: false,
    storageState: await ann.storageState(),
  });
  const plain = await newPage(noScript);
  await plain.goto(`${APP_URL}/server-tasks`);
  assert.deepEqual(
    await plain.getByRole("list", { name: "Tasks" }).locator(".title").allTextContents(),
    ["File the taxes", "Call mum today"],
  );

  step("signed out, /server-tasks redirects to sign in (no token, no API call)");
  const nobody = await browser.newContext();
  await replay({ times: 0 });
  const anonymous = await nobody.request.get(`${APP_URL}/server-tasks`, { maxRedirects: 0 });
  assert.equal(anonymous.status(), 307);
  assert.equal(new URL(anonymous.headers().location, APP_URL).pathname, "/sign-in");
  assert.deepEqual(await serverCalls(), []);
  await nobody.close();

  step("the main page links to it; the Server Action adds a task, the list re-renders");
  await page.goto(APP_URL);
  await page.getByRole("link", { name: "Rendered on the server" }).click();
  await page.getByRole("heading", { name: "Tasks, rendered on the server" }).waitFor();
  const serverForm = page.getByRole("form", { name: "New task on the server" });
  const keyField = serverForm.locator('input[name="idempotencyKey"]');
  const firstKey = await keyField.inputValue();
  const browserToApi = [];
  page.on("request", (request) => {
    if (request.url().startsWith(API_URL)) browserToApi.push(request.url());
  });
  await replay({ times: 0 });
  await serverForm.getByLabel("Title").fill("Water the plants");
  await serverForm.getByLabel("Priority").selectOption("high");
  await serverForm.getByRole("button", { name: "Add on the server" }).click();
  await serverForm.getByRole("status").filter({ hasText: "Added “Water the plants”." }).waitFor();
  const serverList = page.getByRole("list", { name: "Tasks" });
  await serverList.getByText("Water the plants", { exact: true }).waitFor();
  assert.deepEqual(browserToApi, [], "the browser never called the API: the server did");
  calls = await serverCalls();
  const posts = calls.filter((call) => call.method === "POST");
  assert.equal(posts.length, 1);
  assert.equal(posts[0].idempotency_key, firstKey, "the key rendered into that form");
  assert.notEqual(await keyField.inputValue(), firstKey, "a new key for the next task");
  assert.equal(await serverForm.getByLabel("Title").inputValue(), "");
  html = await serverHtml(ann);
  assert.ok(html.includes(rendered("Water the plants")));
  await page.goto(APP_URL);
  assert.deepEqual(
    (await titles(page)).sort(),
    ["Call mum today", "File the taxes", "Water the plants"],
  );

  step("with JavaScript off, the Server Action form still adds a task");
  await plain.goto(`${APP_URL}/server-tasks`);
  await plain.getByLabel("Title").fill("Sweep the floor");
  await plain.getByRole("button", { name: "Add on the server" }).click();
  await plain.getByRole("list", { name: "Tasks" }).getByText("Sweep the floor").waitFor();
  await noScript.close();

  step("server side: a 503 with a short Retry-After is waited out and retried");
  const listCall = "limit=100"; // the list's call; the count to do asks for limit=1
  await replay({ status: 503, headers: { "Retry-After": "1" }, times: 1, match: listCall });
  html = await serverHtml(ann);
  calls = await serverCalls();
  const listCalls = calls.filter((call) => call.path.includes(listCall));
  assert.equal(listCalls.length, 2, "the 503, then the same call again");
  // A second later: a token minted anew would differ (its iat); the render's one is reused.
  assert.ok(
    calls.every((call) => call.authorization === calls[0].authorization),
    "one token for the whole render (React cache()), the retry included",
  );
  assert.ok(html.includes(rendered("Water the plants")), "the list, after the wait");

  step("server side: a longer 503 renders 'try again' and refreshes after Retry-After");
  await replay({ status: 503, headers: { "Retry-After": "7" }, times: 1, match: listCall });
  html = await serverHtml(ann);
  assert.match(html, /The service is busy\. Try again in 7 seconds\./);
  assert.match(html, /<meta http-equiv="refresh" content="7"\/?>/);
  assert.ok(!html.includes(rendered("Water the plants")));
  calls = (await serverCalls()).filter((call) => call.path.includes(listCall));
  assert.equal(calls.length, 1, "not waited for: the page says when");

  step("server side: a 401 from the API sends the user to sign in");
  await replay({
    status: 401,
    headers: { "WWW-Authenticate": 'Bearer realm="todo-api", error="invalid_token"' },
    times: 1,
    match: listCall,
  });
  const refused = await ann.request.get(`${APP_URL}/server-tasks`, { maxRedirects: 0 });
  assert.equal(refused.status(), 307);
  assert.equal(new URL(refused.headers().location, APP_URL).pathname, "/sign-in");
  assert.ok((await serverHtml(ann)).includes(rendered("Water the plants")), "still signed in");

  // ---------------------------------------------------------------------- CORS --
  step("the API answers the allowed origin and the browser refuses it to any other");
  const probe = (url) =>
    fetch(url, { headers: { Authorization: "Bearer not-a-jwt" } }).then(
      (response) => `status ${response.status}`,
      (error) => `refused: ${error.name}`,
    );
  assert.equal(await bobPage.evaluate(probe, `${API_URL}/api/me`), "status 401");
  const foreign = await newPage(bob);
  await foreign.goto(`${FOREIGN_APP_URL}/sign-in`);
  assert.notEqual(new URL(foreign.url()).origin, new URL(APP_URL).origin);
  assert.equal(await foreign.evaluate(probe, `${API_URL}/api/me`), "refused: TypeError");

  step("all good");
} finally {
  await browser.close();
}
