// The task list of the tasks page: the filters, the tasks loaded so far and how many match.
// The list reloads from the first page whenever the filters change.
import { useCallback, useEffect, useState } from "react";
import type { Api, Ordering, Priority, StatusFilter, Task } from "@/lib/api";
import { describe, networkMessage } from "./failures";

export type Filters = { status: StatusFilter; priority: Priority | ""; q: string; ordering: Ordering };

const FIRST_FILTERS: Filters = { status: "all", priority: "", q: "", ordering: "-created_at" };
const PAGE_SIZE = 20;

const sameFilters = (a: Filters, b: Filters) =>
  a.status === b.status && a.priority === b.priority && a.q === b.q && a.ordering === b.ordering;

/** `onNotice` shows a message on the page; it must keep its identity (a state setter does). */
export function useTasks(api: Api, userId: string, onNotice: (message: string) => void) {
  const [filters, setFilters] = useState<Filters>(FIRST_FILTERS);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [count, setCount] = useState(0);
  const [loading, setLoading] = useState(true);

  const load = useCallback(
    async (offset: number) => {
      setLoading(true);
      try {
        const { data, error, response } = await api.GET("/api/{user_id}/tasks", {
          params: {
            path: { user_id: userId },
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
        if (!data) return onNotice(describe({ response, error }).message);
        setTasks((current) =>
          offset === 0
            ? data.items
            : [...current, ...data.items.filter((t) => !current.some((c) => c.id === t.id))],
        );
        setCount(data.count);
      } catch (error) {
        onNotice(networkMessage(error));
      } finally {
        setLoading(false);
      }
    },
    [api, userId, filters, onNotice],
  );

  useEffect(() => {
    void load(0);
  }, [load]);

  /** Some filters changed; the same values again leave the list (and its request) alone. */
  const updateFilters = useCallback(
    (change: Partial<Filters>) =>
      setFilters((current) => {
        const next = { ...current, ...change };
        return sameFilters(current, next) ? current : next;
      }),
    [],
  );

  const changed = useCallback(
    (task: Task) => setTasks((list) => list.map((t) => (t.id === task.id ? task : t))),
    [],
  );

  const removed = useCallback((id: number) => {
    setTasks((list) => list.filter((t) => t.id !== id));
    setCount((n) => Math.max(0, n - 1));
  }, []);

  return {
    filters,
    updateFilters,
    tasks,
    count,
    loading,
    /** The first page again: after a create or a clear, in the chosen order. */
    reload: () => load(0),
    /** The next page, appended. */
    loadMore: () => load(tasks.length),
    changed,
    removed,
  };
}
