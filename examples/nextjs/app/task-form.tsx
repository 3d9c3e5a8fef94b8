"use client";

import type { Priority, TaskInput } from "@/lib/api";
import { PRIORITY_OPTIONS } from "@/lib/options";
import { Field } from "./field";
import { Select } from "./select";

export type Draft = { title: string; description: string; priority: Priority; due_date: string };

export const EMPTY_DRAFT: Draft = { title: "", description: "", priority: "medium", due_date: "" };

export function toBody(draft: Draft): TaskInput {
  return {
    title: draft.title,
    description: draft.description,
    priority: draft.priority,
    due_date: draft.due_date || null,
  };
}

/** Title, Description, Priority, Due date: labelled fields, each with its 422 message. */
export function TaskFields({
  draft,
  onChange,
  errors,
}: {
  draft: Draft;
  onChange: (draft: Draft) => void;
  errors: Record<string, string>;
}) {
  const set = (field: "title" | "description" | "due_date") =>
    (event: { target: { value: string } }) => onChange({ ...draft, [field]: event.target.value });
  return (
    <div className="grid">
      <Field label="Title" error={errors.title} wide>
        {(control) => (
          <input
            {...control}
            type="text"
            name="title"
            required
            maxLength={200}
            value={draft.title}
            onChange={set("title")}
          />
        )}
      </Field>
      <Field label="Description" error={errors.description} wide>
        {(control) => (
          <textarea
            {...control}
            name="description"
            maxLength={1000}
            value={draft.description}
            onChange={set("description")}
          />
        )}
      </Field>
      <Field label="Priority" error={errors.priority}>
        {(control) => (
          <Select
            control={control}
            name="priority"
            options={PRIORITY_OPTIONS}
            value={draft.priority}
            onChange={(priority) => onChange({ ...draft, priority })}
          />
        )}
      </Field>
      <Field label="Due date" error={errors.due_date}>
        {(control) => (
          <input
            {...control}
            type="date"
            name="due_date"
            value={draft.due_date}
            onChange={set("due_date")}
          />
        )}
      </Field>
    </div>
  );
}
