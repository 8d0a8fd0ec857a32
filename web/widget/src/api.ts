// The widget's Pollen client: every call sends the app key, and the shopper's customer token when signed in.

export interface Session {
  token: string;
  expiresAt: number; // ms since epoch
  customerId: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export interface Config {
  apiBase: string;
  appKey: string;
  tokenUrl: string | null;
  customerId: string | null;
}

export class Client {
  private session: Session | null = null;
  private pendingSession: Promise<Session | null> | null = null;
  private trackingOff = false;

  constructor(readonly config: Config) {}

  /** The signed-in shopper's session from the merchant's token endpoint; null for a guest. */
  async signIn(): Promise<Session | null> {
    const { tokenUrl } = this.config;
    if (!tokenUrl) return null;
    if (this.session && this.session.expiresAt - Date.now() > 30_000) return this.session;
    this.pendingSession ??= (async () => {
      try {
        const response = await fetch(tokenUrl, { credentials: "same-origin", headers: { accept: "application/json" } });
        if (!response.ok) return null;
        const answer = (await response.json()) as { token?: string; expires_at?: string; customer_id?: string };
        const customerId = answer.customer_id ?? this.config.customerId;
        if (!answer.token || !customerId) return null;
        const expires = answer.expires_at ? Date.parse(answer.expires_at) : NaN;
        this.session = { token: answer.token, customerId: String(customerId), expiresAt: isNaN(expires) ? Date.now() + 300_000 : expires };
        return this.session;
      } catch {
        return null;
      } finally {
        this.pendingSession = null;
      }
    })();
    return this.pendingSession;
  }

  async call<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = { "x-api-key": this.config.appKey, accept: "application/json", ...extra };
    const session = this.config.tokenUrl ? await this.signIn() : null;
    if (session) headers.authorization = `Bearer ${session.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(this.config.apiBase.replace(/\/$/, "") + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
    const text = await response.text();
    const data: unknown = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, data);
    return data as T;
  }

  /** Like call, but a 404 (a route this Pollen does not have yet) answers null so the section hides. */
  async optional<T>(path: string): Promise<T | null> {
    try {
      return await this.call<T>("GET", path);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return null;
      throw error;
    }
  }

  /** Report what only the widget sees; never throws, and stops trying once the route is missing. */
  track(type: string, customerId: string | null): void {
    if (this.trackingOff) return;
    const event: Record<string, string> = { id: uuid(), type, channel: "widget" };
    if (customerId) event.customer_id = customerId;
    this.call("POST", "/v1/events/track", { events: [event] }).catch((error: unknown) => {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) this.trackingOff = true;
    });
  }
}

export function uuid(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface Wallet {
  customer_id: string;
  balance: number;
  pending: number;
  currency: string;
  coin_value: string;
  balance_value: string;
  expiring: { coins: number; expires_on: string }[];
}

export interface Offer {
  reward_id: string;
  type: string;
  name: string;
  description: string | null;
  coins: number | null;
  value: string | null;
  coin_value: string | null;
  eligible: boolean;
  reason: string | null;
  allowed_coins: { min: number; max: number; step: number } | null;
}

export interface Redeemed {
  coupon: { code: string; coins: number; value: string | null; currency: string };
  balance: number;
}

export interface Entry {
  txn_id: string;
  type: string;
  operation: "credit" | "debit";
  coins: number;
  created_at: string;
  note: string | null;
}
