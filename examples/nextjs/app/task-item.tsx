"use client";

import { useState } from "react";
import type { Api, Task } from "@/lib/api";
import { describe, type Failure, networkMessage } from "./failures";
import { type Draft, TaskFields, toBody } from "./task-form";

/** One task: its checkbox (named by the title), Edit (with If-Match) and Delete. */
export function TaskItem({
  task,
  api,
  userId,
  onChanged,
  onRemoved,
  onNotice,
}: {
  task: Task;
  api: Api;
  userId: string;
  onChanged: (task: Task) => void;
  onRemoved: (id: number) => void;
  onNotice: (message: string) => void;
}) {
  const [editing, setEditing] = useState<{ draft: Draft; etag: string } | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const path = { user_id: userId, task_id: task.id };

  async function run(action: () => Promise<void>) {
    setBusy(true);
    try {
      await action();
    } catch (error) {
      onNotice(networkMessage(error));
    } finally {
      setBusy(false);
    }
  }

  const fail = (failure: Failure) => {
    const { message, fields } = describe(failure);
    setErrors(fields);
    onNotice(message);
    if (failure.response.status === 404) onRemoved(task.id);
  };

  const toggle = () =>
    run(async () => {
      // An explicit value, not a toggle: safe to retry after a 503.
      const { data, error, response } = await api.PATCH("/api/{user_id}/tasks/{task_id}/complete", {
        params: { path },
        body: { completed: !task.completed },
      });
      if (data) onChanged(data);
      else fail({ response, error });
    });

  const startEditing = () =>
    run(async () => {
      // Fetch the task for its current ETag, which the Save sends back as If-Match.
      const { data, error, response } = await api.GET("/api/{user_id}/tasks/{task_id}", {
        params: { path },
      });
      if (!data) return fail({ response, error });
      onChanged(data);
      setErrors({});
      setEditing({
        etag: response.headers.get("ETag") ?? "",
        draft: {
          title: data.title,
          description: data.description,
          priority: data.priority,
          due_date: data.due_date ?? "",
        },
      });
    });

  const reload = async () => {
    const { data } = await api.GET("/api/{user_id}/tasks/{task_id}", { params: { path } });
    if (data) onChanged(data);
  };

  const save = (event: React.FormEvent) => {
    event.preventDefault();
    if (!editing) return;
    run(async () => {
      const { data, error, response } = await api.PUT("/api/{user_id}/tasks/{task_id}", {
        params: { path, header: { "If-Match": editing.etag } },
        body: { ...toBody(editing.draft), completed: task.completed },
      });
      if (data) {
        onChanged(data);
        setEditing(null);
        return;
      }
      fail({ response, error });
      if (response.status === 412) {
        setEditing(null);
        await reload();
      }
    });
  };

  const remove = () =>
    run(async () => {
      const { error, response } = await api.DELETE("/api/{user_id}/tasks/{task_id}", {
        params: { path },
      });
      if (response.ok || response.status === 404) onRemoved(task.id);
      else fail({ response, error });
    });

  return (
    <li className={`task${task.completed ? " done" : ""}`}>
      <div className="main">
        <label className="title">
          <input type="checkbox" checked={task.completed} onChange={toggle} disabled={busy} />
          <span>{task.title}</span>
        </label>
        <div className="meta">
          <span className={`badge ${task.priority}`}>{task.priority}</span>
          {task.due_date && <span>due {task.due_date}</span>}
        </div>
        {task.description && <p className="desc">{task.description}</p>}
        {editing && (
          <form
            onSubmit={save}
            className="card"
            style={{ marginTop: 12 }}
            aria-label={`Edit ${task.title}`}
          >
            <TaskFields
              draft={editing.draft}
              errors={errors}
              onChange={(draft) => setEditing({ ...editing, draft })}
            />
            <div className="actions">
              <button type="submit" disabled={busy}>
                Save
              </button>
              <button type="button" className="secondary" onClick={() => setEditing(null)}>
                Cancel
              </button>
            </div>
          </form>
        )}
      </div>
      <div className="buttons">
        {!editing && (
          <button type="button" className="secondary" onClick={startEditing} disabled={busy}>
            Edit
          </button>
        )}
        <button type="button" className="danger" onClick={remove} disabled={busy}>
          Delete
        </button>
      </div>
    </li>
  );
}
