import type { NextConfig } from "next";

// Optional same-origin mode, off by default: TODO_API_REWRITE=1 at build time serves the API
// under this app's own origin (/todo-api/* -> the API), so the browser never makes a
// cross-origin call and the API needs no CORS for it. Next.js writes rewrites into the build,
// so the API address (TODO_API_SERVER_URL, else TODO_API_URL) is the one set at build time.
const apiRewrite = process.env.TODO_API_REWRITE === "1";
const apiOrigin =
  process.env.TODO_API_SERVER_URL || process.env.TODO_API_URL || "http://127.0.0.1:8000";

const config: NextConfig = {
  poweredByHeader: false,
  // better-sqlite3 is a native module: load it from node_modules at run time, never bundle it.
  serverExternalPackages: ["better-sqlite3"],
  // This directory is its own project, even inside the API's repository.
  turbopack: { root: import.meta.dirname },
  // Fixed at build time, like the rewrite it describes: app/page.tsx reads it.
  env: { TODO_API_REWRITE: apiRewrite ? "1" : "" },
  async rewrites() {
    if (!apiRewrite) return [];
    return [{ source: "/todo-api/:path*", destination: `${apiOrigin.replace(/\/+$/, "")}/:path*` }];
  },
};

export default config;
