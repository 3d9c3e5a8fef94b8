"use client";
// The tasks page in the browser: it composes the parts, each in its own file. The list and its
// filters live in useTasks (use-tasks.ts); the page keeps the one status line they all report to.
import { useMemo, useState } from "react";
import { createApi } from "@/lib/api";
import type { User } from "@/lib/auth-client";
import { AccountActions } from "./account-actions";
import { ClearCompleted } from "./clear-completed";
import { NewTaskForm } from "./new-task-form";
import { TaskFilters } from "./task-filters";
import { TaskList } from "./task-list";
import { useTasks } from "./use-tasks";

export function TasksPage({
  apiUrl,
  user,
}: {
  apiUrl: string;
  user: Pick<User, "id" | "name" | "email">;
}) {
  const api = useMemo(() => createApi(apiUrl), [apiUrl]);
  const [notice, setNotice] = useState("");
  const list = useTasks(api, user.id, setNotice);

  return (
    <>
      <header className="topbar">
        <div>
          <h1>Tasks</h1>
          <span className="who">
            {user.name} · {user.email}
          </span>
        </div>
        <AccountActions onNotice={setNotice} />
      </header>

      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}

      <NewTaskForm api={api} userId={user.id} onCreated={list.reload} onNotice={setNotice} />

      <section className="card" aria-label="Your tasks">
        <TaskFilters filters={list.filters} onChange={list.updateFilters} />
        <TaskList
          tasks={list.tasks}
          count={list.count}
          loading={list.loading}
          api={api}
          userId={user.id}
          onChanged={list.changed}
          onRemoved={list.removed}
          onNotice={setNotice}
          onLoadMore={() => void list.loadMore()}
        >
          <ClearCompleted
            api={api}
            userId={user.id}
            onCleared={list.reload}
            onNotice={setNotice}
          />
        </TaskList>
      </section>
    </>
  );
}
