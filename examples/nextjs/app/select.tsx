"use client";

import { type Option, optionValue } from "@/lib/options";
import type { ControlProps } from "./field";

/** A controlled <select> over one list of lib/options.ts: it reports only values of that list. */
export function Select<T extends string>({
  control,
  name,
  options,
  value,
  onChange,
}: {
  control: ControlProps;
  name?: string;
  options: readonly Option<T>[];
  value: T;
  onChange: (value: T) => void;
}) {
  return (
    <select
      {...control}
      name={name}
      value={value}
      onChange={(event) => {
        const chosen = optionValue(options, event.target.value);
        if (chosen !== undefined) onChange(chosen);
      }}
    >
      {options.map((option) => (
        <option key={option.value} value={option.value}>
          {option.label}
        </option>
      ))}
    </select>
  );
}
