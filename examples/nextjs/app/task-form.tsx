"use client";

import type { Priority } from "@/lib/api";

export type Draft = { title: string; description: string; priority: Priority; due_date: string };

export const EMPTY_DRAFT: Draft = { title: "", description: "", priority: "medium", due_date: "" };

export function toBody(draft: Draft) {
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
  const set = (field: keyof Draft) => (event: { target: { value: string } }) =>
    onChange({ ...draft, [field]: event.target.value });
  const error = (field: string) =>
    errors[field] ? (
      <span className="error" role="alert">
        {errors[field]}
      </span>
    ) : null;
  return (
    <div className="grid">
      <label className="field wide">
        Title
        <input
          type="text"
          name="title"
          required
          maxLength={200}
          value={draft.title}
          onChange={set("title")}
          aria-invalid={Boolean(errors.title)}
        />
        {error("title")}
      </label>
      <label className="field wide">
        Description
        <textarea
          name="description"
          maxLength={1000}
          value={draft.description}
          onChange={set("description")}
          aria-invalid={Boolean(errors.description)}
        />
        {error("description")}
      </label>
      <label className="field">
        Priority
        <select name="priority" value={draft.priority} onChange={set("priority")}>
          <option value="low">Low</option>
          <option value="medium">Medium</option>
          <option value="high">High</option>
        </select>
        {error("priority")}
      </label>
      <label className="field">
        Due date
        <input
          type="date"
          name="due_date"
          value={draft.due_date}
          onChange={set("due_date")}
          aria-invalid={Boolean(errors.due_date)}
        />
        {error("due_date")}
      </label>
    </div>
  );
}
