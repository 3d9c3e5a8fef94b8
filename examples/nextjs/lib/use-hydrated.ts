import { useEffect, useState } from "react";

/** False until React has attached its handlers: submit buttons wait for it, so a fast click
 * never falls back to the browser's own form submission (a GET with the fields in the URL). */
export function useHydrated(): boolean {
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  return hydrated;
}
