import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { getAuth } from "@/lib/auth";
import { TasksPage } from "./tasks";

// Read at request time (not baked in at build): one build serves any API address.
export default async function Home() {
  const requestHeaders = await headers(); // first: this page is never prerendered at build
  const session = await getAuth().api.getSession({ headers: requestHeaders });
  if (!session) redirect("/sign-in");
  // With the same-origin rewrite (next.config.ts) the browser calls /todo-api/* on this app.
  const apiUrl =
    process.env.TODO_API_REWRITE === "1"
      ? "/todo-api"
      : process.env.TODO_API_URL || "http://127.0.0.1:8000";
  const { id, name, email } = session.user;
  return <TasksPage apiUrl={apiUrl} user={{ id, name, email }} />;
}
