// examples/nextjs built with TODO_API_REWRITE=1: the browser calls the API through the app's
// own origin (/todo-api/*), and the API allows no CORS origin at all. Started by
// tests/browser/test_frontend.py with APP_URL, API_URL and CHROMIUM.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const { APP_URL, API_URL, CHROMIUM } = process.env;
for (const [name, value] of Object.entries({ APP_URL, API_URL, CHROMIUM })) {
  if (!value) throw new Error(`${name} is required`);
}
const step = (text) => process.stdout.write(`- ${text}\n`);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});

try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (error) => process.stdout.write(`  page error: ${error.message}\n`));
  const apiCalls = [];
  page.on("request", (request) => {
    const url = request.url();
    if (url.startsWith(API_URL) || url.includes("/todo-api/")) apiCalls.push(url);
  });

  step("Rae signs up; the tasks page loads through /todo-api");
  await page.goto(`${APP_URL}/sign-up`);
  await page.getByLabel("Name").fill("Rae");
  await page.getByLabel("Email").fill(`rae-${Date.now()}@example.com`);
  await page.getByLabel("Password").fill("correct-horse-battery");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Tasks" }).waitFor();
  await page.getByText("No tasks here yet.").waitFor();

  step("adds a task; it persists across a reload");
  const form = page.getByRole("form", { name: "New task" });
  await form.getByLabel("Title").fill("Through the rewrite");
  await form.getByRole("button", { name: "Add task" }).click();
  const task = page.getByRole("checkbox", { name: "Through the rewrite", exact: true });
  await task.waitFor();
  await page.reload();
  await task.waitFor();

  step("every API call stayed on the app's origin; none went to the API's");
  assert.ok(apiCalls.length >= 3, `calls: ${apiCalls}`);
  for (const url of apiCalls) assert.ok(url.startsWith(`${APP_URL}/todo-api/api/`), url);

  step("and the API itself really allows no other origin");
  const probe = await page.evaluate(
    (url) =>
      fetch(url, { headers: { Authorization: "Bearer not-a-jwt" } }).then(
        (response) => `status ${response.status}`,
        (error) => `refused: ${error.name}`,
      ),
    `${API_URL}/api/me`,
  );
  assert.equal(probe, "refused: TypeError");

  step("all good");
} finally {
  await browser.close();
}
