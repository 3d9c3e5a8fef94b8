"use client";

import { useEffect, useState } from "react";
import { ORDERING_OPTIONS, PRIORITY_FILTER_OPTIONS, STATUS_OPTIONS } from "@/lib/options";
import { useHydrated } from "@/lib/use-hydrated";
import { Field } from "./field";
import { Select } from "./select";
import type { Filters } from "./use-tasks";

const SEARCH_DELAY_MS = 300; // one request when the typing pauses, not one per key

/** Search, Status, Importance and Order by, above the list. */
export function TaskFilters({
  filters,
  onChange,
}: {
  filters: Filters;
  onChange: (change: Partial<Filters>) => void;
}) {
  const [search, setSearch] = useState("");
  const hydrated = useHydrated();

  useEffect(() => {
    const timer = setTimeout(() => onChange({ q: search.trim() }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search, onChange]);

  return (
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
          <Select
            control={control}
            options={STATUS_OPTIONS}
            value={filters.status}
            onChange={(status) => onChange({ status })}
          />
        )}
      </Field>
      <Field label="Importance">
        {(control) => (
          <Select
            control={control}
            options={PRIORITY_FILTER_OPTIONS}
            value={filters.priority}
            onChange={(priority) => onChange({ priority })}
          />
        )}
      </Field>
      <Field label="Order by">
        {(control) => (
          <Select
            control={control}
            options={ORDERING_OPTIONS}
            value={filters.ordering}
            onChange={(ordering) => onChange({ ordering })}
          />
        )}
      </Field>
    </fieldset>
  );
}
