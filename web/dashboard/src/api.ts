// Every call goes to Pollen's public HTTP API on this origin (/v1/...), with the admin key of this tab.

const STORAGE_KEY = "pollen.adminKey";

export interface FieldError {
  field: string;
  location?: string;
  message: string;
}

/** A failed call: the API's problem+json (`detail`, `errors`) or what went wrong on the way. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail || title);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(STORAGE_KEY),
  signIn: (key: string) => sessionStorage.setItem(STORAGE_KEY, key),
  signOut: () => sessionStorage.removeItem(STORAGE_KEY),
};

export interface Options {
  body?: unknown;
  ifMatch?: string;
  query?: Record<string, string | number | undefined | null>;
  key?: string; // sign-in checks a key before storing it
  accept?: string;
  idempotencyKey?: string;
}

export interface Reply<T> {
  data: T;
  etag: string | null;
  status: number;
}

let onUnauthorized: () => void = () => {};
export function whenUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

export function url(path: string, query?: Options["query"]): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function call<T>(method: string, path: string, options: Options = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { accept: options.accept ?? "application/json" };
  const key = options.key ?? session.key();
  if (key) headers["x-api-key"] = key;
  if (options.ifMatch) headers["if-match"] = options.ifMatch;
  if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(url(path, options.query), { method, headers, body });
  } catch {
    throw new ApiError(0, "Network error", "The API could not be reached. Check your connection and try again.");
  }
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  const parsed: unknown = text && type.includes("json") ? safeJson(text) : text;
  if (!response.ok) {
    if (response.status === 401 && !options.key) onUnauthorized();
    throw toError(response.status, parsed);
  }
  return { data: parsed as T, etag: response.headers.get("etag"), status: response.status };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toError(status: number, body: unknown): ApiError {
  if (body && typeof body === "object") {
    const problem = body as { title?: string; detail?: string; message?: string; errors?: FieldError[] };
    const title = problem.title ?? problem.message ?? `HTTP ${status}`;
    return new ApiError(status, title, problem.detail ?? problem.message ?? title, problem.errors ?? []);
  }
  return new ApiError(status, `HTTP ${status}`, typeof body === "string" && body ? body : `The API answered ${status}.`);
}

export const get = <T>(path: string, query?: Options["query"]) => call<T>("GET", path, { query }).then((r) => r.data);
export const send = <T>(method: string, path: string, body?: unknown, ifMatch?: string) =>
  call<T>(method, path, { body, ifMatch }).then((r) => r.data);

/** Path segment, encoded. */
export const seg = (value: string) => encodeURIComponent(value);

/** A fresh Idempotency-Key: a retried write with the same key is applied once. */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
