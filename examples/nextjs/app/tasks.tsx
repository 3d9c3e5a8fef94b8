"use client";

import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  createApi,
  forgetToken,
  newIdempotencyKey,
  type Ordering,
  type Priority,
  type StatusFilter,
  type Task,
} from "@/lib/api";
import { authClient } from "@/lib/auth-client";
import { useHydrated } from "@/lib/use-hydrated";
import { describe, networkMessage } from "./failures";
import { type Draft, EMPTY_DRAFT, Field, TaskFields, toBody } from "./task-form";
import { TaskItem } from "./task-item";

type User = { id: string; name: string; email: string };
type Filters = { status: StatusFilter; priority: Priority | ""; q: string; ordering: Ordering };

const PAGE_SIZE = 20;

export function TasksPage({ apiUrl, user }: { apiUrl: string; user: User }) {
  const api = useMemo(() => createApi(apiUrl), [apiUrl]);
  const [filters, setFilters] = useState<Filters>({
    status: "all",
    priority: "",
    q: "",
    ordering: "-created_at",
  });
  const [search, setSearch] = useState("");
  const [tasks, setTasks] = useState<Task[]>([]);
  const [count, setCount] = useState(0);
  const [loading, setLoading] = useState(true);
  const [notice, setNotice] = useState("");
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [adding, setAdding] = useState(false);
  const hydrated = useHydrated();
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
        setTasks((current) =>
          offset === 0
            ? data.items
            : [...current, ...data.items.filter((t) => !current.some((c) => c.id === t.id))],
        );
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
    const timer = setTimeout(
      () => setFilters((f) => (f.q === search.trim() ? f : { ...f, q: search.trim() })),
      300,
    );
    return () => clearTimeout(timer);
  }, [search]);

  const changed = (task: Task) =>
    setTasks((list) => list.map((t) => (t.id === task.id ? task : t)));
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
      setNotice(
        data.deleted === 1
          ? "Cleared 1 completed task."
          : `Cleared ${data.deleted} completed tasks.`,
      );
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

  // Better Auth deletes the account; its beforeDelete hook (lib/auth.ts) first erases the tasks
  // in the API, and a failure there keeps the account (the message says so).
  async function deleteAccount() {
    if (!window.confirm("Delete your account and all your tasks? This cannot be undone.")) return;
    const { error } = await authClient.deleteUser();
    if (error) return setNotice(error.message || "Your account could not be deleted. Try again.");
    forgetToken();
    window.location.assign("/sign-up");
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
        <div className="actions" style={{ marginTop: 0 }}>
          <Link href="/server-tasks">Rendered on the server</Link>
          <button type="button" className="secondary" onClick={signOut}>
            Sign out
          </button>
          <button type="button" className="danger" onClick={deleteAccount}>
            Delete account
          </button>
        </div>
      </header>

      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}

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

      <section className="card" aria-label="Your tasks">
        <fieldset className="plain grid" style={{ marginBottom: 12 }} disabled={!hydrated}>
          <Field label="Search">
            {(control) => (
              <input
                {...control}
                type="search"
                value={search}
                onChange={(e) => setSearch(e.target.value)}
              />
            )}
          </Field>
          <Field label="Status">
            {(control) => (
              <select
                {...control}
                value={filters.status}
                onChange={(e) => setFilters({ ...filters, status: e.target.value as StatusFilter })}
              >
                <option value="all">All</option>
                <option value="pending">Pending</option>
                <option value="completed">Completed</option>
              </select>
            )}
          </Field>
          <Field label="Importance">
            {(control) => (
              <select
                {...control}
                value={filters.priority}
                onChange={(e) =>
                  setFilters({ ...filters, priority: e.target.value as Priority | "" })
                }
              >
                <option value="">Any</option>
                <option value="high">High</option>
                <option value="medium">Medium</option>
                <option value="low">Low</option>
              </select>
            )}
          </Field>
          <Field label="Order by">
            {(control) => (
              <select
                {...control}
                value={filters.ordering}
                onChange={(e) => setFilters({ ...filters, ordering: e.target.value as Ordering })}
              >
                <option value="-created_at">Newest first</option>
                <option value="created_at">Oldest first</option>
                <option value="due_date">Due date</option>
                <option value="-priority">Priority</option>
                <option value="title">Title</option>
              </select>
            )}
          </Field>
        </fieldset>

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
              <button
                type="button"
                className="secondary"
                onClick={() => load(tasks.length)}
                disabled={loading}
              >
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
