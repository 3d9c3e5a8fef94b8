// What the <select>s offer: one typed list per choice, for the browser's forms and filters and
// the Server Action's form alike. Each value is checked against the generated schema
// (lib/api-types.ts), and the lists keyed by a whole enum stop compiling when the API adds a
// status or a priority that has no label here yet.
import type { Ordering, Priority, StatusFilter } from "./api-shared";

export type Option<T extends string> = { readonly value: T; readonly label: string };

/** Every value of an enum, in the order given, each with its label. */
function everyOption<T extends string>(labels: Record<T, string>): readonly Option<T>[] {
  // Object.entries loses the key type; a Record's keys are exactly T.
  return (Object.entries(labels) as [T, string][]).map(([value, label]) => ({ value, label }));
}

/** Lowest first, as the task form offers them. */
export const PRIORITY_OPTIONS = everyOption<Priority>({
  low: "Low",
  medium: "Medium",
  high: "High",
});

/** The importance filter: any, or one priority, highest first. */
export const PRIORITY_FILTER_OPTIONS: readonly Option<Priority | "">[] = [
  { value: "", label: "Any" },
  ...[...PRIORITY_OPTIONS].reverse(),
];

export const STATUS_OPTIONS = everyOption<StatusFilter>({
  all: "All",
  pending: "Pending",
  completed: "Completed",
});

/** The orderings the list offers: a chosen few of the API's. */
export const ORDERING_OPTIONS: readonly Option<Ordering>[] = [
  { value: "-created_at", label: "Newest first" },
  { value: "created_at", label: "Oldest first" },
  { value: "due_date", label: "Due date" },
  { value: "-priority", label: "Priority" },
  { value: "title", label: "Title" },
];

/** The option a <select> or a form field sent (a plain string), or undefined if none is. */
export function optionValue<T extends string>(
  options: readonly Option<T>[],
  value: FormDataEntryValue | null,
): T | undefined {
  return options.find((option) => option.value === value)?.value;
}
