"use client";
// The Server Action's form. It works before hydration and without JavaScript too (React
// posts it to the action); with JavaScript, useActionState keeps its answer on the page.
import { useActionState } from "react";
import { PRIORITY_OPTIONS } from "@/lib/options";
import { createTask } from "./actions";
import type { CreateTaskState } from "./form-state";

export function CreateTaskForm({ initial }: { initial: CreateTaskState }) {
  const [state, action, pending] = useActionState(createTask, initial);
  const invalid = (field: string) => Boolean(state.fields[field]);
  return (
    <form action={action} className="card" aria-label="New task on the server">
      <h2>New task (Server Action)</h2>
      <input type="hidden" name="idempotencyKey" value={state.key} />
      {state.message && (
        <p className="notice" role="status">
          {state.message}
        </p>
      )}
      <div className="grid">
        <label className="field wide">
          Title
          <input
            type="text"
            name="title"
            required
            maxLength={200}
            defaultValue={state.values.title}
            aria-invalid={invalid("title")}
          />
          {state.fields.title && <span className="error">{state.fields.title}</span>}
        </label>
        <label className="field">
          Priority
          <select name="priority" defaultValue={state.values.priority}>
            {PRIORITY_OPTIONS.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="actions">
        <button type="submit" aria-busy={pending} disabled={pending}>
          Add on the server
        </button>
      </div>
    </form>
  );
}
