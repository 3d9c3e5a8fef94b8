// What a failed API call means for the user. 401 never gets here: lib/api.ts handles it.
import { type ErrorBody, fieldErrors, retryAfterSeconds, SignedOut } from "@/lib/api";

/** A refused call as openapi-fetch hands it over; `error` is the body, typed by the schema. */
export type Failure = { response: Response; error?: ErrorBody };

export function describe({ response, error }: Failure): {
  message: string;
  fields: Record<string, string>;
} {
  switch (response.status) {
    case 422: {
      // A body that is not the schema's (a proxy's page, say) has no issues to place.
      const detail = error?.detail;
      const fields = Array.isArray(detail) ? fieldErrors(detail) : {};
      return { message: "Please correct the highlighted fields.", fields };
    }
    case 409:
      return {
        message: "That request was already used for different values. Submit again.",
        fields: {},
      };
    case 412:
      return {
        message: "This task was changed elsewhere; the latest version is shown.",
        fields: {},
      };
    case 404:
      return { message: "This task no longer exists.", fields: {} };
    case 429:
      return {
        message: `Too many requests. Try again in ${retryAfterSeconds(response)} seconds.`,
        fields: {},
      };
    case 503:
      return {
        message: `The service is busy. Try again in ${retryAfterSeconds(response)} seconds.`,
        fields: {},
      };
    default: {
      const detail = error?.detail;
      return {
        message: typeof detail === "string" ? detail : `Something went wrong (${response.status}).`,
        fields: {},
      };
    }
  }
}

export function networkMessage(error: unknown): string {
  if (error instanceof SignedOut) return error.message;
  return "The API cannot be reached. Check your connection and try again.";
}
