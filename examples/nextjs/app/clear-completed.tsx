"use client";

import type { Api } from "@/lib/api";
import { describe, networkMessage } from "./failures";

/** "Clear completed": deletes every completed task of the user in one call. */
export function ClearCompleted({
  api,
  userId,
  onCleared,
  onNotice,
}: {
  api: Api;
  userId: string;
  onCleared: () => Promise<void>;
  onNotice: (message: string) => void;
}) {
  async function clearCompleted() {
    try {
      const { data, error, response } = await api.DELETE("/api/{user_id}/tasks", {
        params: { path: { user_id: userId }, query: { status: "completed" } },
      });
      if (!data) return onNotice(describe({ response, error }).message);
      onNotice(
        data.deleted === 1
          ? "Cleared 1 completed task."
          : `Cleared ${data.deleted} completed tasks.`,
      );
      await onCleared();
    } catch (error) {
      onNotice(networkMessage(error));
    }
  }

  return (
    <button type="button" className="danger" onClick={clearCompleted}>
      Clear completed
    </button>
  );
}
