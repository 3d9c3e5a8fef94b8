// A Server Component: the signed-in user's tasks, fetched and rendered on the server with
// the request's own JWT (lib/server-api.ts). The HTML that arrives already holds the list.
import type { Metadata } from "next";
import Link from "next/link";
import { unstable_rethrow } from "next/navigation";
import type { Task } from "@/lib/api-shared";
import { busy, getServerApi, getUser } from "@/lib/server-api";
import { CreateTaskForm } from "./create-form";
import { freshForm } from "./form-state";

export const metadata: Metadata = { title: "Tasks, rendered on the server" };

const LIMIT = 100;

type Listing =
  | { tasks: Task[]; count: number }
  | { problem: string; retryAfter: number };

async function listTasks(userId: string): Promise<Listing> {
  try {
    const { data, response } = await getServerApi().GET("/api/{user_id}/tasks", {
      params: { path: { user_id: userId }, query: { ordering: "-created_at", limit: LIMIT } },
    });
    if (data) return { tasks: data.items, count: data.count };
    const wait = busy(response);
    if (wait) return { problem: wait.message, retryAfter: wait.retryAfter };
    return { problem: `Something went wrong (${response.status}).`, retryAfter: 0 };
  } catch (error) {
    unstable_rethrow(error); // redirect() to sign in is an exception Next must see
    return { problem: "The API cannot be reached. Try again in a moment.", retryAfter: 5 };
  }
}

/** How many are left to do: a second call in the same render, with the same token. */
async function countPending(userId: string): Promise<number | null> {
  try {
    const { data } = await getServerApi().GET("/api/{user_id}/tasks", {
      params: { path: { user_id: userId }, query: { status: "pending", limit: 1 } },
    });
    return data ? data.count : null; // a detail: left out when it cannot be had
  } catch (error) {
    unstable_rethrow(error);
    return null;
  }
}

export default async function ServerTasksPage() {
  const user = await getUser(); // reads the request's headers: rendered per request
  const [listing, pending] = await Promise.all([listTasks(user.id), countPending(user.id)]);
  return (
    <>
      <header className="topbar">
        <div>
          <h1>Tasks, rendered on the server</h1>
          <span className="who">
            {user.name} · {user.email}
          </span>
        </div>
        <Link href="/">Back to the tasks page</Link>
      </header>

      <CreateTaskForm initial={freshForm()} />

      <section className="card" aria-label="Your tasks">
        {"problem" in listing ? (
          <>
            {/* Retry-After honoured: the page asks again by itself when the API said to. */}
            {listing.retryAfter > 0 && (
              <meta httpEquiv="refresh" content={String(listing.retryAfter)} />
            )}
            <p className="notice" role="status">
              {listing.problem} <Link href="/server-tasks">Try again</Link>
            </p>
          </>
        ) : listing.tasks.length === 0 ? (
          <p className="who">No tasks here yet.</p>
        ) : (
          <>
            <ul className="tasks" aria-label="Tasks">
              {listing.tasks.map((task) => (
                <li key={task.id} className={`task server${task.completed ? " done" : ""}`}>
                  <div className="main">
                    <span className="title">{task.title}</span>
                    <div className="meta">
                      <span>{task.completed ? "done" : "to do"}</span>
                      <span className={`badge ${task.priority}`}>{task.priority}</span>
                      {task.due_date && <span>due {task.due_date}</span>}
                    </div>
                    {task.description && <p className="desc">{task.description}</p>}
                  </div>
                </li>
              ))}
            </ul>
            <div className="summary">
              <span>
                Showing {listing.tasks.length} of {listing.count}
                {pending !== null && ` · ${pending} to do`}
              </span>
            </div>
          </>
        )}
      </section>
    </>
  );
}
