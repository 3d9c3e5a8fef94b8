"use client";

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  createApi,
  fieldErrors,
  forgetToken,
  newIdempotencyKey,
  retryAfterSeconds,
  SignedOut,
  type Priority,
  type Task,
  type ValidationIssue,
} from "@/lib/api";
import { authClient } from "@/lib/auth-client";

type User = { id: string; name: string; email: string };
type Status = "all" | "pending" | "completed";
type Ordering = "-created_at" | "created_at" | "due_date" | "-priority" | "title";
type Filters = { status: Status; priority: Priority | ""; q: string; ordering: Ordering };
type Draft = { title: string; description: string; priority: Priority; due_date: string };
type Failure = { response: Response; error?: unknown };

const PAGE_SIZE = 20;
const EMPTY_DRAFT: Draft = { title: "", description: "", priority: "medium", due_date: "" };

function toBody(draft: Draft) {
  return {
    title: draft.title,
    description: draft.description,
    priority: draft.priority,
    due_date: draft.due_date || null,
  };
}

/** What a failed call means for the user; 401 never gets here (lib/api.ts handles it). */
function describe({ response, error }: Failure): { message: string; fields: Record<string, string> } {
  switch (response.status) {
    case 422: {
      const detail = (error as { detail?: ValidationIssue[] } | undefined)?.detail;
      const fields = Array.isArray(detail) ? fieldErrors(detail) : {};
      return { message: "Please correct the highlighted fields.", fields };
    }
    case 409:
      return { message: "That request was already used for different values. Submit again.", fields: {} };
    case 412:
      return { message: "This task was changed elsewhere; the latest version is shown.", fields: {} };
    case 404:
      return { message: "This task no longer exists.", fields: {} };
    case 503:
      return {
        message: `The service is busy. Try again in ${retryAfterSeconds(response)} seconds.`,
        fields: {},
      };
    default: {
      const detail = (error as { detail?: unknown } | undefined)?.detail;
      return {
        message: typeof detail === "string" ? detail : `Something went wrong (${response.status}).`,
        fields: {},
      };
    }
  }
}

function networkMessage(error: unknown): string {
  if (error instanceof SignedOut) return error.message;
  return "The API cannot be reached. Check your connection and try again.";
}

function TaskFields({
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

function TaskItem({
  task,
  api,
  userId,
  onChanged,
  onRemoved,
  onNotice,
}: {
  task: Task;
  api: ReturnType<typeof createApi>;
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
          <form onSubmit={save} className="card" style={{ marginTop: 12 }} aria-label={`Edit ${task.title}`}>
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

export function TasksPage({ apiUrl, user }: { apiUrl: string; user: User }) {
  const api = useMemo(() => createApi(apiUrl), [apiUrl]);
  const [filters, setFilters] = useState<Filters>({ status: "all", priority: "", q: "", ordering: "-created_at" });
  const [search, setSearch] = useState("");
  const [tasks, setTasks] = useState<Task[]>([]);
  const [count, setCount] = useState(0);
  const [loading, setLoading] = useState(true);
  const [notice, setNotice] = useState("");
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [adding, setAdding] = useState(false);
  // One key per intended task: reused while the body is the same (double click, retry).
  const pending = useRef<{ key: string; body: string } | null>(null);
  const userPath = { user_id: user.id };

  const load = useCallback(
    async (offset: number) => {
      setLoading(true);
      try {
        const { data, error, response } = await api.GET("/api/{user_id}/tasks", {
          params: {
            path: { user_id: user.id },
            query: {
              status: filters.status,
              priority: filters.priority || undefined,
              q: filters.q || undefined,
              ordering: filters.ordering,
              limit: PAGE_SIZE,
              offset,
            },
          },
        });
        if (!data) return setNotice(describe({ response, error }).message);
        setTasks((current) => (offset === 0 ? data.items : [...current, ...data.items.filter((t) => !current.some((c) => c.id === t.id))]));
        setCount(data.count);
      } catch (error) {
        setNotice(networkMessage(error));
      } finally {
        setLoading(false);
      }
    },
    [api, user.id, filters],
  );

  useEffect(() => {
    void load(0);
  }, [load]);

  useEffect(() => {
    const timer = setTimeout(() => setFilters((f) => (f.q === search.trim() ? f : { ...f, q: search.trim() })), 300);
    return () => clearTimeout(timer);
  }, [search]);

  const changed = (task: Task) => setTasks((list) => list.map((t) => (t.id === task.id ? task : t)));
  const removed = (id: number) => {
    setTasks((list) => list.filter((t) => t.id !== id));
    setCount((n) => Math.max(0, n - 1));
  };

  async function add(event: React.FormEvent) {
    event.preventDefault();
    const body = toBody(draft);
    const text = JSON.stringify(body);
    if (pending.current?.body !== text) pending.current = { key: newIdempotencyKey(), body: text };
    const key = pending.current.key;
    setAdding(true);
    try {
      const { data, error, response } = await api.POST("/api/{user_id}/tasks", {
        params: { path: userPath, header: { "Idempotency-Key": key } },
        body,
      });
      if (!data) {
        const { message, fields } = describe({ response, error });
        setErrors(fields);
        setNotice(message);
        if (response.status === 409) pending.current = null;
        return;
      }
      if (pending.current?.key === key) {
        pending.current = null;
        setDraft(EMPTY_DRAFT);
      }
      setErrors({});
      setNotice("");
      await load(0); // the list in the chosen order, with the new task where it belongs
    } catch (error) {
      setNotice(networkMessage(error)); // the same key is reused when the user submits again
    } finally {
      setAdding(false);
    }
  }

  async function clearCompleted() {
    try {
      const { data, error, response } = await api.DELETE("/api/{user_id}/tasks", {
        params: { path: userPath, query: { status: "completed" } },
      });
      if (!data) return setNotice(describe({ response, error }).message);
      setNotice(data.deleted === 1 ? "Cleared 1 completed task." : `Cleared ${data.deleted} completed tasks.`);
      await load(0);
    } catch (error) {
      setNotice(networkMessage(error));
    }
  }

  async function signOut() {
    forgetToken();
    await authClient.signOut();
    window.location.assign("/sign-in");
  }

  return (
    <>
      <header className="topbar">
        <div>
          <h1>Tasks</h1>
          <span className="who">
            {user.name} · {user.email}
          </span>
        </div>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>

      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}

      <form className="card" onSubmit={add} aria-label="New task">
        <h2>New task</h2>
        <TaskFields draft={draft} onChange={setDraft} errors={errors} />
        <div className="actions">
          <button type="submit">{adding ? "Adding…" : "Add task"}</button>
        </div>
      </form>

      <section className="card" aria-label="Your tasks">
        <div className="grid" style={{ marginBottom: 12 }}>
          <label className="field">
            Search
            <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
          </label>
          <label className="field">
            Status
            <select
              value={filters.status}
              onChange={(e) => setFilters({ ...filters, status: e.target.value as Status })}
            >
              <option value="all">All</option>
              <option value="pending">Pending</option>
              <option value="completed">Completed</option>
            </select>
          </label>
          <label className="field">
            Show priority
            <select
              value={filters.priority}
              onChange={(e) => setFilters({ ...filters, priority: e.target.value as Priority | "" })}
            >
              <option value="">Any</option>
              <option value="high">High</option>
              <option value="medium">Medium</option>
              <option value="low">Low</option>
            </select>
          </label>
          <label className="field">
            Order by
            <select
              value={filters.ordering}
              onChange={(e) => setFilters({ ...filters, ordering: e.target.value as Ordering })}
            >
              <option value="-created_at">Newest first</option>
              <option value="created_at">Oldest first</option>
              <option value="due_date">Due date</option>
              <option value="-priority">Priority</option>
              <option value="title">Title</option>
            </select>
          </label>
        </div>

        {tasks.length === 0 && !loading ? (
          <p className="who">No tasks here yet.</p>
        ) : (
          <ul className="tasks" aria-label="Tasks" aria-busy={loading}>
            {tasks.map((task) => (
              <TaskItem
                key={task.id}
                task={task}
                api={api}
                userId={user.id}
                onChanged={changed}
                onRemoved={removed}
                onNotice={setNotice}
              />
            ))}
          </ul>
        )}

        <div className="summary">
          <span>
            Showing {tasks.length} of {count}
          </span>
          <div className="actions" style={{ marginTop: 0 }}>
            {tasks.length < count && (
              <button type="button" className="secondary" onClick={() => load(tasks.length)} disabled={loading}>
                Load more
              </button>
            )}
            <button type="button" className="danger" onClick={clearCompleted}>
              Clear completed
            </button>
          </div>
        </div>
      </section>
    </>
  );
}
