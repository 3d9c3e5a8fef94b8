// The state of the Server Action form, shared by the page, the form and the action.
import { newIdempotencyKey, type Priority } from "@/lib/api-shared";

export type FormValues = { title: string; priority: Priority };

export type CreateTaskState = {
  /** The Idempotency-Key the next submission sends: new after a success, kept for a retry. */
  key: string;
  message: string;
  fields: Record<string, string>;
  values: FormValues;
};

export function freshForm(message = ""): CreateTaskState {
  const values: FormValues = { title: "", priority: "medium" };
  return { key: newIdempotencyKey(), message, fields: {}, values };
}
