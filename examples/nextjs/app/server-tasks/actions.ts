"use server";
// A Server Action: the form posts here, this calls the API from the server with the
// request's own token (lib/server-api.ts), and the page is re-rendered with the new task.
import { revalidatePath } from "next/cache";
import { unstable_rethrow } from "next/navigation";
import { fieldErrors } from "@/lib/api-shared";
import { optionValue, PRIORITY_OPTIONS } from "@/lib/options";
import { busy, getServerApi, getUser } from "@/lib/server-api";
import { type CreateTaskState, freshForm } from "./form-state";

export async function createTask(
  previous: CreateTaskState,
  form: FormData,
): Promise<CreateTaskState> {
  const user = await getUser();
  const sentKey = String(form.get("idempotencyKey") ?? "");
  // One key per rendered form: a double submit, or a retry after a 503 or a network error,
  // sends the same key again, and the API creates one task.
  const key = sentKey.length > 0 && sentKey.length <= 255 ? sentKey : previous.key;
  const values = {
    title: String(form.get("title") ?? ""),
    priority: optionValue(PRIORITY_OPTIONS, form.get("priority")) ?? "medium",
  };
  const state = (message: string, fields: Record<string, string> = {}, next = key) => ({
    key: next,
    message,
    fields,
    values,
  });
  try {
    const { data, error, response } = await getServerApi().POST("/api/{user_id}/tasks", {
      params: { path: { user_id: user.id }, header: { "Idempotency-Key": key } },
      body: { ...values, description: "" },
    });
    if (data) {
      revalidatePath("/server-tasks");
      return freshForm(`Added “${data.title}”.`);
    }
    const wait = busy(response);
    if (wait) return state(wait.message); // the same key: submitting again creates one task
    const detail = error?.detail; // typed by the schema: a sentence, or a 422's issues
    if (response.status === 422 && Array.isArray(detail)) {
      const fields = fieldErrors(detail);
      // The values will change: a new request, so a new key.
      return state("Please correct the highlighted fields.", fields, freshForm().key);
    }
    if (response.status === 409) {
      return state(typeof detail === "string" ? detail : "Submit again.", {}, freshForm().key);
    }
    const message = typeof detail === "string" ? detail : "";
    return state(message || `Something went wrong (${response.status}).`);
  } catch (error) {
    unstable_rethrow(error); // redirect() to sign in is an exception Next must see
    return state("The API cannot be reached. Check your connection and try again.");
  }
}
