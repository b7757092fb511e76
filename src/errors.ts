/** A mistake by whoever called us (CLI user or API client): shown as one line, never with a stack. */
export class UserError extends Error {
  override name = "UserError";
  /** HTTP rendering, for the admin API that shares the CLI's services. */
  readonly status: number = 400;
  readonly code: string = "invalid_value";
}

/** The named thing does not exist. */
export class NotFoundError extends UserError {
  override name = "NotFoundError";
  override readonly status = 404;
  override readonly code = "not_found";
}

/** The change would break a uniqueness rule (name or key already taken). */
export class ConflictError extends UserError {
  override name = "ConflictError";
  override readonly status = 409;
  override readonly code = "conflict";
}

/** The thing existed but is gone for good (a one-time link already used, or expired). */
export class GoneError extends UserError {
  override name = "GoneError";
  override readonly status = 410;
  override readonly code = "gone";
}

/** An error an HTTP client sees, rendered in OpenAI's error shape. */
export class ApiError extends Error {
  override name = "ApiError";
  /** Why the request was refused, where the code alone does not say (metrics): rate, tpm, parallel, budget_*. */
  reason?: string;
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(message: string, type: string, code: string | null, param: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** The error format of the API a customer called. */
export type ErrorShape = "openai" | "anthropic";

/** Anthropic's error type for an HTTP status. */
export function anthropicErrorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503 || status === 529) return "overloaded_error";
  return status >= 500 ? "api_error" : "invalid_request_error";
}

/** An error body in the shape of the API the customer called. */
export function shapedErrorBody(shape: ErrorShape, status: number, message: string, type: string, code: string | null, param: string | null = null): object {
  if (shape === "anthropic") return { type: "error", error: { type: anthropicErrorType(status), message } };
  return errorBody(message, type, code, param);
}

// Refusals that the same request can never get past by retrying: the OpenAI and Anthropic SDKs (and Claude
// Code, which otherwise retries a 401 for ~3 minutes) honour `x-should-retry: false`.
const NEVER_RETRY = new Set([400, 401, 403, 404, 413, 422]);
const noRetry = (status: number): Record<string, string> => (NEVER_RETRY.has(status) ? { "x-should-retry": "false" } : {});

/** Renders any error in the shape of the API called (OpenAI's by default); unknown errors become a 500 without details. */
export function errorResponse(err: unknown, headers: Record<string, string> = {}, shape: ErrorShape = "openai"): Response {
  if (err instanceof ApiError) {
    return Response.json(shapedErrorBody(shape, err.status, err.message, err.type, err.code, err.param), {
      status: err.status,
      headers: { ...noRetry(err.status), ...err.headers, ...headers },
    });
  }
  if (err instanceof UserError) {
    return Response.json(shapedErrorBody(shape, err.status, err.message, "invalid_request_error", err.code), { status: err.status, headers: { ...noRetry(err.status), ...headers } });
  }
  return Response.json(shapedErrorBody(shape, 500, "The gateway hit an internal error.", "server_error", "internal_error"), {
    status: 500,
    headers,
  });
}

/** A 400 for a request the gateway cannot read or will not forward, in OpenAI's shape (mapped for Anthropic's). */
export function invalidRequest(message: string, param: string | null, code = "invalid_request"): ApiError {
  return new ApiError(400, message, "invalid_request_error", code, param);
}

const classifiers: ((err: unknown) => ApiError | undefined)[] = [];

/**
 * A storage client names its own errors that mean "retry shortly" (a lock held by another process, a lost
 * connection), so the error mapper needs to know no database.
 */
export function classifyErrorsWith(classify: (err: unknown) => ApiError | undefined): void {
  classifiers.push(classify);
}

/** The gateway's error for a storage client's error, when a client named it. */
export function classifiedError(err: unknown): ApiError | undefined {
  for (const classify of classifiers) {
    const known = classify(err);
    if (known) return known;
  }
  return undefined;
}
