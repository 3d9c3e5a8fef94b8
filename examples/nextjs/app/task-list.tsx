"use client";

import type { Api, Task } from "@/lib/api";
import { TaskItem } from "./task-item";

/** The tasks loaded so far, "Showing n of m", Load more, and the list's other actions. */
export function TaskList({
  tasks,
  count,
  loading,
  api,
  userId,
  onChanged,
  onRemoved,
  onNotice,
  onLoadMore,
  children,
}: {
  tasks: Task[];
  count: number;
  loading: boolean;
  api: Api;
  userId: string;
  onChanged: (task: Task) => void;
  onRemoved: (id: number) => void;
  onNotice: (message: string) => void;
  onLoadMore: () => void;
  /** More buttons next to Load more. */
  children?: React.ReactNode;
}) {
  return (
    <>
      {tasks.length === 0 && !loading ? (
        <p className="who">No tasks here yet.</p>
      ) : (
        <ul className="tasks" aria-label="Tasks" aria-busy={loading}>
          {tasks.map((task) => (
            <TaskItem
              key={task.id}
              task={task}
              api={api}
              userId={userId}
              onChanged={onChanged}
              onRemoved={onRemoved}
              onNotice={onNotice}
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
            <button type="button" className="secondary" onClick={onLoadMore} disabled={loading}>
              Load more
            </button>
          )}
          {children}
        </div>
      </div>
    </>
  );
}
