"use client";

import { useRef, useState } from "react";
import { type Api, newIdempotencyKey } from "@/lib/api";
import { useHydrated } from "@/lib/use-hydrated";
import { describe, networkMessage } from "./failures";
import { type Draft, EMPTY_DRAFT, TaskFields, toBody } from "./task-form";

/** "New task": creates a task with an Idempotency-Key, so a double click or a retry makes one. */
export function NewTaskForm({
  api,
  userId,
  onCreated,
  onNotice,
}: {
  api: Api;
  userId: string;
  onCreated: () => Promise<void>;
  onNotice: (message: string) => void;
}) {
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [adding, setAdding] = useState(false);
  const hydrated = useHydrated();
  // One key per intended task: reused while the body is the same (double click, retry).
  const pending = useRef<{ key: string; body: string } | null>(null);

  async function add(event: React.FormEvent) {
    event.preventDefault();
    const body = toBody(draft);
    const text = JSON.stringify(body);
    if (pending.current?.body !== text) pending.current = { key: newIdempotencyKey(), body: text };
    const key = pending.current.key;
    setAdding(true);
    try {
      const { data, error, response } = await api.POST("/api/{user_id}/tasks", {
        params: { path: { user_id: userId }, header: { "Idempotency-Key": key } },
        body,
      });
      if (!data) {
        const { message, fields } = describe({ response, error });
        setErrors(fields);
        onNotice(message);
        if (response.status === 409) pending.current = null;
        return;
      }
      if (pending.current?.key === key) {
        pending.current = null;
        setDraft(EMPTY_DRAFT);
      }
      setErrors({});
      onNotice("");
      await onCreated(); // the list in the chosen order, with the new task where it belongs
    } catch (error) {
      onNotice(networkMessage(error)); // the same key is reused when the user submits again
    } finally {
      setAdding(false);
    }
  }

  return (
    <form className="card" onSubmit={add} method="post" aria-label="New task">
      <h2>New task</h2>
      {/* Controlled fields: typing before React takes over would be lost, so wait for it. */}
      <fieldset className="plain" disabled={!hydrated}>
        <TaskFields draft={draft} onChange={setDraft} errors={errors} />
        <div className="actions">
          <button type="submit" aria-busy={adding}>
            Add task
          </button>
        </div>
      </fieldset>
    </form>
  );
}
