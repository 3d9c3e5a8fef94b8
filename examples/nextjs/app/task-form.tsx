"use client";

import { useId } from "react";
import type { Priority, TaskInput } from "@/lib/api";

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
type ControlProps = { id: string; "aria-invalid": boolean; "aria-describedby"?: string };

/** A label tied to its control by id (so the name is exactly `label`), and its 422 message. */
export function Field({
  label,
  error,
  wide = false,
  children,
}: {
  label: string;
  error?: string;
  wide?: boolean;
  children: (control: ControlProps) => React.ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className={wide ? "field wide" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), "aria-describedby": error && errorId })}
      {error && (
        <span id={errorId} className="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
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
  const set = (field: keyof Draft) => (event: { target: { value: string } }) =>
    onChange({ ...draft, [field]: event.target.value });
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
          <select {...control} name="priority" value={draft.priority} onChange={set("priority")}>
            <option value="low">Low</option>
            <option value="medium">Medium</option>
            <option value="high">High</option>
          </select>
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
