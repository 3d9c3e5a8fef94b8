import type { NextConfig } from "next";

const config: NextConfig = {
  poweredByHeader: false,
  // better-sqlite3 is a native module: load it from node_modules at run time, never bundle it.
  serverExternalPackages: ["better-sqlite3"],
  // This directory is its own project, even inside the API's repository.
  turbopack: { root: import.meta.dirname },
};

export default config;
